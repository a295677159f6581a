// INET's engine against a peer no one here wrote: the Linux network stack, on the far side of a
// TAP device in a network namespace the test makes (issue 10, item 6). The engine speaks raw
// Ethernet through Machine's TapBackend; real time drives it (the TAP reader thread queues
// frames, this thread feeds them to the engine and runs its timers). Linux answers the engine's
// pings and pings it back (a raw ICMP socket in python3; iputils ping may be absent), and a TCP
// echo server and client in python3 move data both ways, checked by SHA-256 on both sides.
// Runs as root with /dev/net/tun, `ip` and `python3`; elsewhere it is skipped with the reason.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Bulkhead.Machine.Net;
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Icmp;
using Bulkhead.Servers.Inet.Tcp;
using Bulkhead.Servers.Inet.Wire;
using Bulkhead.Tests.Harness;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Inet;

public sealed class LinuxPeerTests : IDisposable
{
    private static readonly Ip4Address LinuxAddr = Ip4Address.Parse("10.77.0.1");
    private static readonly Ip4Address EngineAddr = Ip4Address.Parse("10.77.0.2");
    private static int s_seq;

    private readonly string _ns = $"bhinet{Environment.ProcessId % 10000}x{Interlocked.Increment(ref s_seq)}";
    private readonly string _if = $"bhin{Environment.ProcessId % 10000}x{s_seq}";
    private readonly TapBackend? _tap;
    private readonly BlockingCollection<byte[]> _frames = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly NetEngine _engine = new(77);
    private readonly ITestOutputHelper _output;

    private sealed class TapLink(TapBackend tap) : INetLink
    {
        public void Transmit(ReadOnlySpan<byte> frame) => tap.Send(frame);
    }

    public LinuxPeerTests(ITestOutputHelper output)
    {
        _output = output;
        if (TapFactAttribute.WhyNot() is not null) return;
        Run("ip", "netns", "add", _ns);
        _tap = new TapBackend(_if);
        _tap.Attach(f => _frames.Add(f.ToArray()));
        Run("ip", "link", "set", _if, "netns", _ns);
        Run("ip", "netns", "exec", _ns, "ip", "addr", "add", $"{LinuxAddr}/24", "dev", _if);
        Run("ip", "netns", "exec", _ns, "ip", "link", "set", _if, "up");
        Run("ip", "netns", "exec", _ns, "ip", "link", "set", "lo", "up");
        _engine.AddInterface("eth0", new MacAddress(0x02_42_00_00_77_02), EngineAddr, Ip4Address.Parse("255.255.255.0"), new TapLink(_tap));
    }

    public void Dispose()
    {
        _tap?.Dispose();
        Run("ip", "netns", "del", _ns, check: false);
    }

    private long Now => _clock.ElapsedTicks * 1_000_000 / Stopwatch.Frequency;

    /// <summary>Feeds frames and time to the engine until <paramref name="done"/> or the timeout.</summary>
    private bool Pump(Func<bool> done, TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (DateTime.UtcNow > end) return false;
            long wait = Math.Clamp((_engine.NextDeadline - Now) / 1000, 0, 5);
            if (_frames.TryTake(out var f, (int)wait)) _engine.FrameArrived(0, f, Now);
            while (_frames.TryTake(out f)) _engine.FrameArrived(0, f, Now);
            _engine.Advance(Now);
        }
        return true;
    }

    private Process Start(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", _ns, "python3", "-c", script }.Concat(args)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static string Run(string file, params string[] args) => Run(file, args, true);

    private static string Run(string file, string[] args, bool check)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) p.Kill();
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {err.Result}");
        return output;
    }

    private static string Run(string file, string a, string b, string c, bool check) => Run(file, [a, b, c], check);

    /// <summary>Waits for a peer process's one line of output while pumping the engine.</summary>
    private string? Line(Process p, TimeSpan timeout)
    {
        var line = p.StandardOutput.ReadLineAsync();
        Pump(() => line.IsCompleted, timeout);
        return line.IsCompleted ? line.Result : null;
    }

    private static string Finish(Process p)
    {
        if (!p.WaitForExit(5000)) p.Kill();
        return p.StandardError.ReadToEnd();
    }

    private const string PingScript = """
        import socket, struct, sys, time
        def csum(b):
            if len(b) % 2: b += b'\0'
            s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
            while s >> 16: s = (s & 0xffff) + (s >> 16)
            return ~s & 0xffff
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s.settimeout(2)
        ok = 0
        for seq in range(1, 4):
            body = struct.pack('!BBHHH', 8, 0, 0, 0x4242, seq) + b'bulkhead' * 7
            pkt = body[:2] + struct.pack('!H', csum(body)) + body[4:]
            for attempt in range(5):
                s.sendto(pkt, (sys.argv[1], 0))
                try:
                    while True:
                        data, addr = s.recvfrom(2048)
                        icmp = data[(data[0] & 15) * 4:]
                        if icmp[0] == 0 and struct.unpack('!HH', icmp[4:8]) == (0x4242, seq) and icmp[8:] == body[8:] and csum(icmp) == 0:
                            ok += 1
                            raise StopIteration
                except StopIteration:
                    break
                except socket.timeout:
                    continue
        print('OK %d' % ok, flush=True)
        """;

    private const string EchoServerScript = """
        import hashlib, socket, sys
        srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((sys.argv[1], int(sys.argv[2]))); srv.listen(1)
        print('READY', flush=True)
        c, _ = srv.accept()
        data = bytearray()
        while True:
            b = c.recv(1 << 20)
            if not b: break
            data += b
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        print(hashlib.sha256(data).hexdigest(), len(data), flush=True)
        c.close()
        """;

    private const string EchoClientScript = """
        import hashlib, random, socket, sys, threading
        data = random.Random(7).randbytes(int(sys.argv[3]))
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
        def send():
            c.sendall(data); c.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send); t.start()
        back = bytearray()
        while True:
            b = c.recv(1 << 20)
            if not b: break
            back += b
        t.join()
        print('MATCH' if back == data else 'DIFFER %d of %d' % (len(back), len(data)), hashlib.sha256(data).hexdigest(), flush=True)
        """;

    private const string UdpEchoScript = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[1], int(sys.argv[2])))
        s.settimeout(20)
        print('READY', flush=True)
        for _ in range(int(sys.argv[3])):
            data, addr = s.recvfrom(65535)
            s.sendto(data, addr)
        print('DONE', flush=True)
        """;

    [TapFact]
    public void Udp_EchoThroughLinux_IncludingFragmentedDatagrams()
    {
        int[] sizes = [1, 512, 1472, 3000, 20000];
        using var p = Start(UdpEchoScript, LinuxAddr.ToString(), "7001", sizes.Length.ToString());
        Assert.Equal("READY", p.StandardOutput.ReadLine());
        var u = _engine.UdpBind(Ip4Address.Any, 0, out _)!;
        foreach (int size in sizes)
        {
            var data = new byte[size];
            new Random(size).NextBytes(data);
            Assert.Equal(size, u.SendTo(LinuxAddr, 7001, data));
            Bulkhead.Servers.Inet.Udp.UdpDatagram? back = null;
            Assert.True(Pump(() => (back ??= u.ReceiveFrom()) != null, TimeSpan.FromSeconds(10)), $"no echo of {size} bytes");
            Assert.Equal(data, back!.Payload);
            Assert.Equal(LinuxAddr, back.Source);
        }
        Assert.Equal("DONE", Line(p, TimeSpan.FromSeconds(10)));
        Finish(p);
    }

    [TapFact]
    public void Ping_EngineToLinux_LinuxAnswers()
    {
        var echo = _engine.OpenEcho()!;
        var replies = new List<EchoReply>();
        for (ushort seq = 1; seq <= 3; seq++)
        {
            echo.Send(LinuxAddr, seq, "from bulkhead"u8);
            Assert.True(Pump(() =>
            {
                if (echo.Receive() is { } r) replies.Add(r);
                return replies.Count == seq;
            }, TimeSpan.FromSeconds(10)),
                $"no reply {seq}; drops: {string.Join(", ", _engine.Stats.NonZeroDrops())}");
        }
        Assert.All(replies, r => Assert.Equal(LinuxAddr, r.Source));
        Assert.Equal([1, 2, 3], replies.Select(r => (int)r.Sequence));
    }

    [TapFact]
    public void Ping_LinuxToEngine_EngineAnswers()
    {
        using var p = Start(PingScript, EngineAddr.ToString());
        var line = Line(p, TimeSpan.FromSeconds(30));
        Assert.True(line == "OK 3", $"{line}: {Finish(p)}");
    }

    [TapFact]
    public void Tcp_EngineConnectsToLinuxEchoServer_BothDirectionsByteExact()
    {
        using var p = Start(EchoServerScript, LinuxAddr.ToString(), "7000");
        Assert.Equal("READY", p.StandardOutput.ReadLine());
        var c = _engine.TcpConnect(LinuxAddr, 7000, out var e) ?? throw new InvalidOperationException(e.ToString());
        const int total = 8 << 20;
        var data = new byte[total];
        new Random(5).NextBytes(data);
        var back = new MemoryStream();
        var buf = new byte[65536];
        int sent = 0;
        bool eof = false;
        var serverLine = p.StandardOutput.ReadLineAsync();
        long start = Now;
        Assert.True(Pump(() =>
        {
            if (sent < total && c.State is TcpState.Established)
            {
                int n = c.Send(data.AsSpan(sent));
                if (n > 0 && (sent += n) == total) c.Shutdown();
            }
            int k;
            while ((k = c.Receive(buf)) > 0) back.Write(buf, 0, k);
            if (k == 0 && sent == total) eof = true;
            return eof && serverLine.IsCompleted;
        }, TimeSpan.FromSeconds(60)), $"sent {sent}, back {back.Length}, state {c.State}, error {c.PendingError}; {(p.HasExited ? Finish(p) : "")}");
        string hash = Convert.ToHexStringLower(SHA256.HashData(data));
        Assert.Equal($"{hash} {total}", serverLine.Result);               // Linux got it byte-exact
        Assert.Equal(hash, Convert.ToHexStringLower(SHA256.HashData(back.ToArray()))); // and we got it back
        _output.WriteLine($"{2.0 * total / (Now - start):F1} MB/s both ways together over TAP; drops {string.Join(", ", _engine.Stats.NonZeroDrops())}");
        c.Close();
        Finish(p);
    }

    [TapFact]
    public void Tcp_LinuxConnectsToEngineEchoServer_BothDirectionsByteExact()
    {
        var l = _engine.TcpListen(Ip4Address.Any, 8000, 4, out _)!;
        using var p = Start(EchoClientScript, EngineAddr.ToString(), "8000", (4 << 20).ToString());
        TcpSocket? s = null;
        var pending = new Queue<byte[]>();
        var buf = new byte[65536];
        byte[]? current = null;
        int offset = 0;
        bool peerDone = false, shut = false;
        var line = p.StandardOutput.ReadLineAsync();
        Assert.True(Pump(() =>
        {
            s ??= l.Accept();
            if (s == null) return false;
            int k;
            while ((k = s.Receive(buf)) > 0) pending.Enqueue(buf[..k]);
            if (k == 0) peerDone = true;
            while (true)
            {
                current ??= pending.Count > 0 ? pending.Dequeue() : null;
                if (current == null) break;
                int n = s.Send(current.AsSpan(offset));
                if (n <= 0) break;
                offset += n;
                if (offset == current.Length)
                {
                    current = null;
                    offset = 0;
                }
            }
            if (peerDone && current == null && pending.Count == 0 && !shut)
            {
                s.Shutdown();
                shut = true;
            }
            return line.IsCompleted;
        }, TimeSpan.FromSeconds(60)), $"accepted {s != null}, state {s?.State}; {(p.HasExited ? Finish(p) : "")}");
        Assert.StartsWith("MATCH ", line.Result);
        Finish(p);
    }
}
