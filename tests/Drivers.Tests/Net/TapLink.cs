// A Linux TAP interface in a network namespace the test makes itself, for NIC tests that talk
// to the real Linux network stack (root only: TapFact skips with the reason otherwise). Open()
// creates the namespace and the TapBackend (give it to the device model), Up() moves the
// interface into the namespace and brings it up there (after the device is attached). The
// Linux side is reached with python3 AF_PACKET sockets run inside the namespace: SendFromLinux
// emits one raw frame, Capture starts a capture of the next frame with EtherType 0x88B5 and
// returns it once `act` has run. Dispose closes the TAP and deletes the namespace.
using System.Diagnostics;
using Bulkhead.Machine.Net;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Net;

public sealed class TapLink : IDisposable
{
    /// <summary>The EtherType of test frames (IEEE local experimental), which Linux never sends itself.</summary>
    public const ushort TestEtherType = 0x88B5;

    private static int s_seq;

    private readonly NetNamespace _ns;
    private readonly string _if;

    public TapBackend Backend { get; }

    private TapLink(NetNamespace ns, string ifname, TapBackend backend)
    {
        _ns = ns;
        _if = ifname;
        Backend = backend;
    }

    public static TapLink Open()
    {
        int n = Interlocked.Increment(ref s_seq);
        string ifname = $"bht{Environment.ProcessId % 10000}x{n}";
        var ns = NetNamespace.Create();
        try { return new TapLink(ns, ifname, new TapBackend(ifname)); }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Moves the interface into the namespace and brings it up there.</summary>
    public void Up() => _ns.Adopt(_if);

    /// <summary>Gives the Linux end of the link the address <paramref name="cidr"/> (e.g. 10.0.2.1/24).</summary>
    public void AddAddress(string cidr) => _ns.AddAddress(_if, cidr);

    /// <summary>Runs python3 <paramref name="script"/> with <paramref name="args"/> inside the
    /// namespace; returns its standard output (fails the test on a non-zero exit or a timeout).</summary>
    public string Python(string script, string[] args, int timeoutMs = 60_000) => _ns.Python(script, args, timeoutMs);

    /// <summary>Starts <paramref name="command"/> inside the namespace (NetNamespace.Start).</summary>
    public Process Start(string[] command, string? workingDirectory = null) => _ns.Start(command, workingDirectory);

    /// <summary>Starts a Linux server inside the namespace whose output is read and dropped.</summary>
    public Process Serve(string[] command, string? workingDirectory = null) => _ns.Serve(command, workingDirectory);

    /// <summary>Runs <paramref name="command"/> inside the namespace to its end: exit code, stdout, stderr.</summary>
    public (int Code, string Stdout, string Stderr) Exec(string[] command, int timeoutMs = 60_000, byte[]? stdin = null) =>
        _ns.Exec(command, timeoutMs, stdin);

    /// <summary>Linux sends <paramref name="frame"/> on the interface (raw, as given).</summary>
    public void SendFromLinux(byte[] frame) => _ns.Python(SendScript, [_if, Convert.ToHexString(frame)]);

    /// <summary>Captures, on the Linux side, the first frame with the test EtherType that arrives
    /// after capture started and <paramref name="act"/> ran.</summary>
    public byte[] Capture(Action act)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", _ns.Name, "python3", "-c", CaptureScript, _if }) psi.ArgumentList.Add(a);
        using var cap = Process.Start(psi)!;
        try
        {
            var err = cap.StandardError.ReadToEndAsync();
            string? ready = cap.StandardOutput.ReadLine();
            Assert.True(ready == "READY", $"capture did not start: {ready} {(cap.HasExited ? err.Result : "")}");
            act();
            var line = cap.StandardOutput.ReadLineAsync();
            Assert.True(line.Wait(TimeSpan.FromSeconds(15)), "no capture output");
            return Convert.FromHexString(line.Result ?? "");
        }
        finally
        {
            if (!cap.HasExited) cap.Kill();
        }
    }

    /// <summary>A test frame: destination, source, the test EtherType and a seeded payload.</summary>
    public static byte[] Frame(byte[] destination, byte[] source, int length, byte seed)
    {
        var f = new byte[length];
        destination.CopyTo(f, 0);
        source.CopyTo(f, 6);
        f[12] = TestEtherType >> 8;
        f[13] = TestEtherType & 0xFF;
        for (int i = 14; i < length; i++) f[i] = (byte)(seed + i * 7);
        return f;
    }

    public void Dispose()
    {
        Backend.Dispose();
        _ns.Dispose();
    }


    private const string SendScript = """
        import socket, sys
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((sys.argv[1], 0))
        s.send(bytes.fromhex(sys.argv[2]))
        """;

    private const string CaptureScript = """
        import socket, sys
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        s.bind((sys.argv[1], 0))
        s.settimeout(10)
        print("READY", flush=True)
        while True:
            f = s.recv(65536)
            if len(f) >= 14 and f[12:14] == bytes.fromhex("88b5"):
                print(f.hex(), flush=True)
                break
        """;
}
