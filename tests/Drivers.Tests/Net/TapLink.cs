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

    private readonly string _ns;
    private readonly string _if;

    public TapBackend Backend { get; }

    private TapLink(string ns, string ifname, TapBackend backend)
    {
        _ns = ns;
        _if = ifname;
        Backend = backend;
    }

    public static TapLink Open()
    {
        int n = Interlocked.Increment(ref s_seq);
        string ns = $"bh-test-{Environment.ProcessId}-t{n}";
        string ifname = $"bht{Environment.ProcessId % 10000}x{n}";
        Ip(["netns", "add", ns]);
        try { return new TapLink(ns, ifname, new TapBackend(ifname)); }
        catch
        {
            Ip(["netns", "del", ns], check: false);
            throw;
        }
    }

    /// <summary>Moves the interface into the namespace and brings it up there.</summary>
    public void Up()
    {
        Ip(["link", "set", _if, "netns", _ns]);
        Ip(["netns", "exec", _ns, "ip", "link", "set", _if, "up"]);
    }

    /// <summary>Gives the Linux end of the link the address <paramref name="cidr"/> (e.g. 10.0.2.1/24).</summary>
    public void AddAddress(string cidr) => Ip(["netns", "exec", _ns, "ip", "addr", "add", cidr, "dev", _if]);

    /// <summary>Runs python3 <paramref name="script"/> with <paramref name="args"/> inside the
    /// namespace; returns its standard output (fails the test on a non-zero exit or a timeout).</summary>
    public string Python(string script, string[] args, int timeoutMs = 60_000)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", _ns, "python3", "-c", script }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs)) { p.Kill(); throw new TimeoutException("python3 in " + _ns); }
        Assert.True(p.ExitCode == 0, $"python3 exited {p.ExitCode}: {err.Result}");
        return output.Result;
    }

    /// <summary>Starts <paramref name="command"/> inside the namespace in the background (a Linux
    /// server: socat, python3 -m http.server, nc); its output is read and dropped unless asked for.</summary>
    public Process Start(string[] command, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (string a in new[] { "netns", "exec", _ns }.Concat(command)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    /// <summary>Starts a Linux server inside the namespace whose output is read and dropped.</summary>
    public Process Serve(string[] command, string? workingDirectory = null)
    {
        var p = Start(command, workingDirectory);
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs <paramref name="command"/> inside the namespace to its end: exit code, stdout, stderr.</summary>
    public (int Code, string Stdout, string Stderr) Exec(string[] command, int timeoutMs = 60_000, byte[]? stdin = null)
    {
        using var p = Start(command);
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.BaseStream.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeoutMs)) { p.Kill(true); throw new TimeoutException(string.Join(' ', command) + " in " + _ns); }
        return (p.ExitCode, output.Result, err.Result);
    }

    /// <summary>Linux sends <paramref name="frame"/> on the interface (raw, as given).</summary>
    public void SendFromLinux(byte[] frame) =>
        Ip(["netns", "exec", _ns, "python3", "-c", SendScript, _if, Convert.ToHexString(frame)]);

    /// <summary>Captures, on the Linux side, the first frame with the test EtherType that arrives
    /// after capture started and <paramref name="act"/> ran.</summary>
    public byte[] Capture(Action act)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", _ns, "python3", "-c", CaptureScript, _if }) psi.ArgumentList.Add(a);
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
        Ip(["netns", "del", _ns], check: false);
    }

    private static void Ip(string[] args, bool check = true)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(); throw new TimeoutException("ip " + string.Join(' ', args)); }
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} exited {p.ExitCode}: {err.Result}");
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
