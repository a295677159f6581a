// The real NIC backends. UdpTunnelBackend: two instances on 127.0.0.1 exchange frames byte for
// byte both ways, a datagram from a third socket is ignored, and oversize frames are dropped in
// both directions. TapBackend (root only, see TapFactAttribute): the test makes its own network
// namespace, opens the TAP in the test process's namespace, moves the interface into the new
// namespace (the fd keeps working) and brings it up there; then python3 with an AF_PACKET socket
// inside the namespace sends a raw frame the backend must receive byte for byte, and captures a
// frame the backend sends, printing it in hex. The namespace is always deleted afterwards.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Bulkhead.Machine.Net;
using Xunit;

namespace Bulkhead.Machine.Tests.Net;

public sealed class BackendTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private static byte[] Frame(int length, byte seed)
    {
        var f = new byte[length];
        for (int i = 0; i < length; i++) f[i] = (byte)(seed + i * 7);
        return f;
    }

    private static (UdpTunnelBackend A, UdpTunnelBackend B) UdpPair()
    {
        var sa = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var sb = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sa.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        sb.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var a = new UdpTunnelBackend(sa, (IPEndPoint)sb.LocalEndPoint!);
        var b = new UdpTunnelBackend(sb, (IPEndPoint)sa.LocalEndPoint!);
        return (a, b);
    }

    private static BlockingCollection<byte[]> Collect(INicBackend backend)
    {
        var q = new BlockingCollection<byte[]>();
        backend.Attach(f => q.Add(f.ToArray()));
        return q;
    }

    [Fact]
    public void Udp_FramesCrossBothWays_ByteForByte()
    {
        var (a, b) = UdpPair();
        using (a)
        using (b)
        {
            var atA = Collect(a);
            var atB = Collect(b);
            byte[] f1 = Frame(60, 1), f2 = Frame(1518, 2), f3 = Frame(342, 3);
            a.Send(f1);
            a.Send(f2);
            b.Send(f3);
            Assert.True(atB.TryTake(out var r1, Wait));
            Assert.Equal(f1, r1);
            Assert.True(atB.TryTake(out var r2, Wait));
            Assert.Equal(f2, r2);
            Assert.True(atA.TryTake(out var r3, Wait));
            Assert.Equal(f3, r3);
        }
    }

    [Fact]
    public void Udp_DatagramFromThirdSocket_IsIgnored()
    {
        var (a, b) = UdpPair();
        using (a)
        using (b)
        {
            var atB = Collect(b);
            using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            stranger.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            stranger.SendTo(Frame(60, 9), b.LocalEndPoint);
            byte[] real = Frame(64, 4);
            a.Send(real); // sent after the stranger's datagram: if it arrives, the stranger's was seen first
            Assert.True(atB.TryTake(out var r, Wait));
            Assert.Equal(real, r);
            Assert.False(atB.TryTake(out _, TimeSpan.FromMilliseconds(200)));
        }
    }

    [Fact]
    public void Udp_Oversize_IsDroppedBothWays()
    {
        var (a, b) = UdpPair();
        using (a)
        using (b)
        {
            var atB = Collect(b);
            a.Send(Frame(1519, 5)); // dropped by the sender
            // The receive bound: a tunnel whose peer is a raw socket that sends oversize datagrams.
            using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            raw.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            using var c = new UdpTunnelBackend(new IPEndPoint(IPAddress.Loopback, 0), (IPEndPoint)raw.LocalEndPoint!);
            var atC = Collect(c);
            raw.SendTo(Frame(1519, 6), c.LocalEndPoint);
            raw.SendTo(Frame(4000, 7), c.LocalEndPoint);
            byte[] ok = Frame(1518, 8);
            raw.SendTo(ok, c.LocalEndPoint);
            Assert.True(atC.TryTake(out var rc, Wait));
            Assert.Equal(ok, rc);

            byte[] small = Frame(60, 10);
            a.Send(small);
            Assert.True(atB.TryTake(out var rb, Wait));
            Assert.Equal(small, rb);
            Assert.False(atB.TryTake(out _, TimeSpan.FromMilliseconds(200)));
            Assert.False(atC.TryTake(out _, TimeSpan.FromMilliseconds(50)));
        }
    }

    [Fact]
    public void Udp_Dispose_StopsReaderAndFreesPort()
    {
        var (a, b) = UdpPair();
        IPEndPoint ep = a.LocalEndPoint;
        a.Dispose();
        a.Dispose();
        b.Dispose();
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        again.Bind(ep); // the port is free once Dispose returns
    }

    [Fact]
    public void Tap_InterfaceNameTooLong_Throws()
    {
        Assert.Throws<ArgumentException>(() => new TapBackend("this-name-is-too-long"));
    }

    // ---------------------------------------------------------------- TAP

    private sealed class Netns : IDisposable
    {
        public string Name { get; } = $"bh-test-{Environment.ProcessId}-{Interlocked.Increment(ref s_seq)}";
        private static int s_seq;

        public Netns() => Run("ip", "netns", "add", Name);

        public void Dispose() => Run("ip", "netns", "del", Name, check: false);
    }

    private static string Run(string file, params string[] args) => Run(file, args, check: true);

    private static string Run(string file, string a0, string a1, string a2, bool check) => Run(file, [a0, a1, a2], check);

    private static string Run(string file, string[] args, bool check)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(); throw new TimeoutException($"{file} {string.Join(' ', args)} timed out"); }
        if (check && p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {err.Result}");
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
            if len(f) >= 14 and f[12:14] == bytes.fromhex(sys.argv[2]):
                print(f.hex(), flush=True)
                break
        """;

    private static byte[] TapFrame(byte seed)
    {
        byte[] f = Frame(80, seed);
        // Unicast locally administered destination and source, local experimental EtherType 88B5.
        byte[] head = [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xB5];
        head.CopyTo(f, 0);
        return f;
    }

    [TapFact]
    public void Tap_FramesCrossBetweenBackendAndLinux_ByteForByte()
    {
        string ifName = $"bhtap{Environment.ProcessId % 1000}";
        using var ns = new Netns();
        using var tap = new TapBackend(ifName);
        var received = new BlockingCollection<byte[]>();
        tap.Attach(f => received.Add(f.ToArray()));

        Run("ip", "link", "set", ifName, "netns", ns.Name);
        Run("ip", "netns", "exec", ns.Name, "ip", "link", "set", ifName, "up");

        // (a) Linux -> backend. The kernel may also emit its own frames (IPv6 ND, MLD): skip those.
        byte[] inbound = TapFrame(0x31);
        Run("ip", "netns", "exec", ns.Name, "python3", "-c", SendScript, ifName, Convert.ToHexString(inbound));
        byte[]? got = null;
        var deadline = DateTime.UtcNow + Wait;
        while (got is null && DateTime.UtcNow < deadline)
            if (received.TryTake(out var f, TimeSpan.FromMilliseconds(200)) && f.Length >= 14 && f[12] == 0x88 && f[13] == 0xB5)
                got = f;
        Assert.NotNull(got);
        Assert.Equal(inbound, got);

        // (b) backend -> Linux: start the capture, wait for READY, send, read the hex line.
        byte[] outbound = TapFrame(0x77);
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns.Name, "python3", "-c", CaptureScript, ifName, "88b5" })
            psi.ArgumentList.Add(a);
        using var cap = Process.Start(psi)!;
        try
        {
            var err = cap.StandardError.ReadToEndAsync();
            string? ready = cap.StandardOutput.ReadLine();
            Assert.True(ready == "READY", $"capture did not start: {ready} {(cap.HasExited ? err.Result : "")}");
            tap.Send(outbound);
            var line = cap.StandardOutput.ReadLineAsync();
            Assert.True(line.Wait(TimeSpan.FromSeconds(15)), "no capture output");
            Assert.Equal(Convert.ToHexString(outbound), line.Result?.ToUpperInvariant());
            Assert.True(cap.WaitForExit(10_000));
        }
        finally
        {
            if (!cap.HasExited) cap.Kill();
        }
    }
}
