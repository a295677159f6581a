// The dp8390 driver against the NE2000 model wired to a real Linux TAP (root only; skipped with
// the reason elsewhere): the test makes its own network namespace, opens the TapBackend, moves
// the interface into the namespace and brings it up there. A frame python3 sends from an
// AF_PACKET socket inside the namespace arrives in the puppet's posted `net read` byte for byte,
// and a `net write` frame is captured by python3 on the Linux side byte for byte.
using System.Diagnostics;
using Bulkhead.Kernel.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Net;

namespace Bulkhead.Kernel.Tests.Devices;

public sealed class TapFactAttribute : FactAttribute
{
    public TapFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "TAP tests need Linux";
        else if (Environment.UserName != "root") Skip = "TAP tests need root (not running as root)";
        else if (!File.Exists("/dev/net/tun")) Skip = "TAP tests need /dev/net/tun (missing)";
        else if (!OnPath("ip")) Skip = "TAP tests need the `ip` tool (iproute2) on PATH";
        else if (!OnPath("python3")) Skip = "TAP tests need python3 on PATH";
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"]).Any(d => File.Exists(Path.Combine(d, tool)));
}

public sealed class Dp8390TapTests : IDisposable
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly byte[] Peer = [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF];
    private static readonly string Image = Path.Combine(AppContext.BaseDirectory, "bulkhead-image");
    private static int s_seq;

    private readonly string _ns = $"bh-test-{Environment.ProcessId}-k{Interlocked.Increment(ref s_seq)}";
    private readonly string _if = $"bhtap{Environment.ProcessId % 1000}k";
    private TestSystem? _sys;
    private TapBackend? _tap;

    public void Dispose()
    {
        _sys?.Dispose();
        _tap?.Dispose();
        Run(["netns", "del", _ns], check: false);
    }

    private static string Run(string[] args, bool check = true)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(); throw new TimeoutException("ip " + string.Join(' ', args)); }
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} exited {p.ExitCode}: {err.Result}");
        return output;
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

    private static byte[] Frame(byte[] destination, byte[] source, int length, byte seed)
    {
        var f = new byte[length];
        destination.CopyTo(f, 0);
        source.CopyTo(f, 6);
        f[12] = 0x88;
        f[13] = 0xB5;
        for (int i = 14; i < length; i++) f[i] = (byte)(seed + i * 7);
        return f;
    }

    [TapFact]
    public void Driver_ExchangesFramesWithLinuxThroughATap()
    {
        Run(["netns", "add", _ns]);
        _tap = new TapBackend(_if);
        var io = new IoSpace();
        _sys = new TestSystem(io: io);
        Assert.True(io.Register(0x300, 0x20, new Ne2000(Mac, _sys.Kernel.IrqLine(9), _tap)));
        Run(["link", "set", _if, "netns", _ns]);
        Run(["netns", "exec", _ns, "ip", "link", "set", _if, "up"]);

        var p = TestSystem.Privileges(calls: [KernelCall.DevIo, KernelCall.VDevIo, KernelCall.IrqCtl, KernelCall.SetGrant,
            KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets);
        p.AddIoRange(0x300, 0x20);
        p.AllowIrq(9);
        int drv = _sys.Kernel.Spawn(new ProcessSpec { Name = "eth0", Path = Image, Args = ["dp8390", "io=0x300", "irq=9"], Privileges = p });
        Assert.True(drv >= 0, $"spawn failed: {drv}");
        var c = _sys.StartPuppet("inet", TestSystem.Privileges(calls: [KernelCall.SetGrant, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets));
        Assert.StartsWith("r OK OK", c.Ask($"net conf {drv}"));

        // Linux -> driver. Frames Linux emits on its own (IPv6 multicast) are not for our MAC,
        // so the card's address filter drops them.
        var inbound = Frame(Mac, Peer, 300, 0x31);
        var answer = c.AskAsync($"net read {drv} 1514");
        TestSystem.WaitUntil(() => _sys.Find(c.Endpoint) is { } q && q.State == ProcState.Receiving && q.BlockedOn == drv,
            "the read to be posted");
        Run(["netns", "exec", _ns, "python3", "-c", SendScript, _if, Convert.ToHexString(inbound)]);
        Assert.Equal($"r OK OK 300 {Convert.ToHexString(inbound)}", Puppet.Await(answer));

        // Driver -> Linux.
        var outbound = Frame(Peer, Mac, 200, 0x77);
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", _ns, "python3", "-c", CaptureScript, _if }) psi.ArgumentList.Add(a);
        using var cap = Process.Start(psi)!;
        try
        {
            var err = cap.StandardError.ReadToEndAsync();
            string? ready = cap.StandardOutput.ReadLine();
            Assert.True(ready == "READY", $"capture did not start: {ready} {(cap.HasExited ? err.Result : "")}");
            Assert.Equal("r OK OK", c.Ask($"net write {drv} {Convert.ToHexString(outbound)}"));
            var line = cap.StandardOutput.ReadLineAsync();
            Assert.True(line.Wait(TimeSpan.FromSeconds(15)), "no capture output");
            Assert.Equal(Convert.ToHexString(outbound), line.Result?.ToUpperInvariant());
        }
        finally
        {
            if (!cap.HasExited) cap.Kill();
        }
    }
}
