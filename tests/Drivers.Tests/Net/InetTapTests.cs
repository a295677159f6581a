// INET, the network server, started by RS under etc/drivers.conf's `inet` policy with
// etc/inet.conf, on top of a network driver (dp8390 as eth0, rtl8139 as eth1, as etc/rc starts
// them) whose card is wired to a Linux TAP in a namespace the test makes (TapLink; root only).
// Linux pings INET's address of that card with a raw ICMP socket (python3, PingScript): every
// request answered; a flood that goes on while the driver is killed with SIGKILL (RS restarts
// it, INET attaches the new instance through DS) loses a few replies and ends with replies
// again; UDP echo (port 7) answers a datagram byte for byte; INET itself killed is restarted by
// RS and answers pings again.
using System.Globalization;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Net;

/// <summary>Tests whose pass mark is a count of timely answers across a driver restart (a ping
/// flood loses "a few" replies) run alone, after the parallel ones. (A restart that left INET and
/// the new driver both idle after their Conf exchange, more often on a loaded machine, was the
/// new instance's interrupt lost before it hooked the line: fixed in the kernel's IRQCTL,
/// docs/inet.md "Recovery under heavy load".)</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunAlone
{
    public const string Name = "driver recovery against the clock, alone";
}

[Collection(RunAlone.Name)]
public sealed class InetTapTests : IDisposable
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private InetTapKit? _kit;
    private RsSystem? _rs;
    private TapLink? _tap;

    public InetTapTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose() => _kit?.Dispose();

    /// <summary>Boots the card with its driver and INET; returns the driver's label and INET's address.</summary>
    private (string Label, string Address) Boot(string driver)
    {
        _kit = InetTapKit.Boot(_output, driver);
        _rs = _kit.Rs;
        _tap = _kit.Tap;
        return (_kit.Label, _kit.Inet);
    }

    /// <summary>Runs PingScript: COUNT echo requests INTERVAL ms apart; returns the answered sequence numbers.</summary>
    private bool[] Ping(string address, int count, int intervalMs, Action? midway = null)
    {
        var run = Task.Run(() => _tap!.Python(PingScript, [address, count.ToString(CultureInfo.InvariantCulture), intervalMs.ToString(CultureInfo.InvariantCulture)], 120_000));
        if (midway is not null)
        {
            Thread.Sleep(count * intervalMs / 3);
            midway();
        }
        string output = run.GetAwaiter().GetResult().Trim();
        _output.WriteLine(output);
        var answered = new bool[count];
        foreach (string w in output.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
            answered[int.Parse(w, CultureInfo.InvariantCulture)] = true;
        return answered;
    }

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void LinuxPingsInet_EveryRequestIsAnswered(string driver)
    {
        var (label, address) = Boot(driver);
        var answered = Ping(address, 20, 20);
        _output.WriteLine("driver: " + _rs!.Client.Ask($"net stat {_rs.Row(label)[1]}"));
        Assert.True(answered.All(a => a), $"unanswered: {string.Join(' ', Enumerable.Range(0, 20).Where(i => !answered[i]))}");
    }

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void PingFlood_SurvivesAKilledDriver_RsRestartsIt_InetReattaches(string driver)
    {
        var (label, address) = Boot(driver);
        int first = int.Parse(_rs!.Row(label)[1], CultureInfo.InvariantCulture);
        const int Count = 600;
        var answered = Ping(address, Count, 10, () => Assert.Equal(0, _rs.Sys.Kernel.Kill(first, 9)));
        int lost = answered.Count(a => !a);
        _output.WriteLine($"lost {lost} of {Count}");
        Assert.NotEqual(first.ToString(CultureInfo.InvariantCulture), _rs.Row(label)[1]); // a new instance
        Assert.True(_rs.Sys.Console.Lines.Count(l => l.Contains($"inet: {label}: driver {label} (", StringComparison.Ordinal) && l.Contains(" up, ", StringComparison.Ordinal)) >= 2,
            "INET did not attach the restarted driver");
        // One outage, around the kill (its place in the flood depends on how fast python started):
        // every lost request lies in one window of at most 2 s of the flood.
        var lostAt = Enumerable.Range(0, Count).Where(i => !answered[i]).ToList();
        if (lostAt.Count > 0)
            Assert.True(lostAt[^1] - lostAt[0] < 200, $"requests lost far apart (not one outage): {string.Join(' ', lostAt)}");
        Assert.True(answered.Skip(Count - 100).All(a => a), "the flood did not end with replies");
        // A few replies may be lost (requests the dead driver took); the restart is proven above.
        Assert.True(lost < Count / 3, $"lost {lost} of {Count}: recovery took too long");
    }

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void UdpEcho_AnswersLinuxByteForByte(string driver)
    {
        var (_, address) = Boot(driver);
        string output = _tap!.Python(UdpScript, [address]).Trim();
        Assert.Equal("ok 3", output);
    }

    [TapTheory]
    [InlineData("rtl8139")]
    public void KilledInet_IsRestartedByRs_AndAnswersAgain(string driver)
    {
        var (label, address) = Boot(driver);
        Assert.True(Ping(address, 5, 20).All(a => a));
        int inet = int.Parse(_rs!.Row("inet")[1], CultureInfo.InvariantCulture);
        Assert.Equal(0, _rs.Sys.Kernel.Kill(inet, 9));
        TestSystem.WaitUntil(() => _rs.Row("inet") is { Length: > 2 } r && r[1] != inet.ToString(CultureInfo.InvariantCulture) && r[2] == "running",
            "RS to restart INET");
        TestSystem.WaitUntil(() => _rs.Sys.Console.Lines.Count(l => l.Contains($"inet: {label}: driver {label} (", StringComparison.Ordinal)) >= 2,
            "the new INET to attach the driver");
        var answered = Ping(address, 10, 20);
        Assert.True(answered.Count(a => a) >= 9, "the restarted INET does not answer");
    }

    /// <summary>A driver that misbehaves without crashing (NetDriverCall.Fault) is found out by
    /// INET within its answer deadline, reported to RS with a complaint, replaced (reason
    /// "complaint"), and INET answers pings through the new instance.</summary>
    [TapTheory]
    [InlineData("rtl8139", 1)] // answers Writes as Reads, with another grant
    [InlineData("rtl8139", 2)] // answers Reads with garbage
    [InlineData("rtl8139", 3)] // falls silent
    [InlineData("dp8390", 4)]  // answers every Read EIO
    [InlineData("dp8390", 3)]
    public void MisbehavingDriver_IsReportedToRs_AndReplaced(string driver, int mode)
    {
        var (label, address) = Boot(driver);
        Assert.True(Ping(address, 5, 20).All(a => a));
        string first = _rs!.Row(label)[1];
        Assert.Equal("r OK OK", _rs.Client.Ask($"net fault {first} {mode}"));
        // Traffic makes the fault show (a Write to answer, a frame to read); the flood goes on
        // while INET complains and RS replaces the driver.
        var answered = Ping(address, 300, 10);
        _output.WriteLine(string.Join('\n', _rs.Sys.Console.Lines.Where(l => l.Contains("inet:") || l.Contains("rs:"))));
        Assert.Contains(_rs.Sys.Console.Lines, l => l.Contains($"inet: {label}: driver {label} ({first}) failed: ", StringComparison.Ordinal) &&
                                                   l.EndsWith("; complained to RS", StringComparison.Ordinal));
        Assert.Contains(_rs.Sys.Console.Lines, l => l.Contains($"complaint from inet about {label}", StringComparison.Ordinal));
        Assert.NotEqual(first, _rs.Row(label)[1]);
        // How much of the flood the replacement took depends on the machine's load; after it,
        // every ping is answered.
        _output.WriteLine($"{answered.Count(a => a)} of {answered.Length} pings of the flood answered");
        Assert.True(Ping(address, 10, 20).All(a => a), "pings did not come back after the replacement");
    }

    // argv: address count interval_ms. Sends COUNT echo requests (id = pid) INTERVAL ms apart,
    // then waits a second for stragglers; prints "answered" and the sequence numbers answered.
    private const string PingScript = """
        import os, socket, struct, sys, time, select
        dst, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000.0
        def csum(b):
            if len(b) % 2: b += b"\0"
            s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            s = (s >> 16) + (s & 0xffff); s += s >> 16
            return ~s & 0xffff
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        ident = os.getpid() & 0xffff
        got = set()
        def drain(deadline):
            while True:
                left = deadline - time.monotonic()
                if left <= 0: return
                r, _, _ = select.select([s], [], [], left)
                if not r: return
                p = s.recv(2048)
                ihl = (p[0] & 0xf) * 4
                t, c, _, i, q = struct.unpack("!BBHHH", p[ihl:ihl + 8])
                if t == 0 and i == ident and p[ihl + 8:] == b"bulkhead%05d" % q: got.add(q)
        start = time.monotonic()
        for q in range(count):
            payload = b"bulkhead%05d" % q
            h = struct.pack("!BBHHH", 8, 0, 0, ident, q)
            h = struct.pack("!BBHHH", 8, 0, csum(h + payload), ident, q)
            s.sendto(h + payload, (dst, 0))
            drain(start + (q + 1) * interval)
        drain(time.monotonic() + 1.0)
        print("answered", *sorted(got))
        """;

    // argv: address. Three datagrams of 1, 1000 and 1472 bytes to port 7; each must come back.
    private const string UdpScript = """
        import os, socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        n = 0
        for size in (1, 1000, 1472):
            data = os.urandom(size)
            for attempt in range(3):
                s.sendto(data, (sys.argv[1], 7))
                try:
                    back, peer = s.recvfrom(4096)
                except socket.timeout:
                    continue
                if back == data and peer[1] == 7: n += 1
                break
        print("ok", n)
        """;
}
