// TCP transfers between two engines over simulated links (the thesis's way of evaluating a
// network stack: an unreliable network is no different from an unreliable driver, §4.3.1):
// byte-exact by SHA-256 over clean, lossy, reordering, duplicating and corrupting links, in
// both directions at once, with window scaling filling a long fat link.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Inet;

public class TcpTransferTests(ITestOutputHelper output)
{
    [Fact]
    public void Handshake_BothOfferOptions_NegotiatesScaleTimestampsAndMss()
    {
        var p = new Pair();
        var (c, s, _) = TcpTestKit.Connect(p);
        Assert.Equal(TcpState.Established, s.State);
        Assert.True(c.WindowScaling && s.WindowScaling);
        Assert.True(c.Timestamps && s.Timestamps);
        Assert.Equal(1500 - 40 - 12, c.SendMss);
        Assert.True(c.Readiness.HasFlag(Readiness.Writable));
    }

    [Fact]
    public void Transfer_CleanLink_ArrivesByteExact()
    {
        var p = new Pair();
        p.PortA.Capture = p.PortB.Capture = false;
        var (c, s, _) = TcpTestKit.Connect(p);
        var pump = new TcpPump(c, s, 4 << 20, 11);
        Assert.True(p.Run(pump.Step, 60 * NetLimits.Second), $"read {pump.Read} of {4 << 20}");
        Assert.True(pump.HashesMatch());
        Assert.Equal(0, p.A.Stats.TcpRetransmits);
    }

    [Theory]
    [InlineData(1, 0.02, 0.01, 0.02, 0.01)]
    [InlineData(2, 0.05, 0.00, 0.00, 0.00)]
    [InlineData(3, 0.00, 0.05, 0.10, 0.00)]
    [InlineData(4, 0.01, 0.01, 0.01, 0.03)]
    public void Transfer_ImpairedLink_ArrivesByteExact(int seed, double loss, double dup, double reorder, double corrupt)
    {
        var p = new Pair(seed);
        p.PortA.Capture = p.PortB.Capture = false;
        var (c, s, _) = TcpTestKit.Connect(p);
        p.Net.Loss = loss;
        p.Net.Duplicate = dup;
        p.Net.Reorder = reorder;
        p.Net.Corrupt = corrupt;
        p.Net.Bandwidth = 100_000_000;
        p.Net.Latency = 2 * NetLimits.Millisecond;
        const int total = 3 << 20;
        var pump = new TcpPump(c, s, total, seed);
        Assert.True(p.Run(pump.Step, 600 * NetLimits.Second), $"seed {seed}: read {pump.Read} of {total}, client {c.State}, error {pump.Error}");
        Assert.True(pump.HashesMatch(), $"seed {seed}: hash mismatch");
        output.WriteLine($"seed {seed}: {p.Net.Now / 1e6:F2} s virtual, retransmits {p.A.Stats.TcpRetransmits} fast {p.A.Stats.TcpFastRetransmits} timeouts {p.A.Stats.TcpTimeouts}, drops A {p.A.Stats.TotalDrops} B {p.B.Stats.TotalDrops}");
        if (loss > 0) Assert.True(p.A.Stats.TcpRetransmits > 0);
        if (corrupt > 0) Assert.True(p.A.Stats[DropReason.BadTcpChecksum] + p.B.Stats[DropReason.BadTcpChecksum]
            + p.A.Stats[DropReason.BadIpChecksum] + p.B.Stats[DropReason.BadIpChecksum] > 0);
    }

    [Fact]
    public void Transfer_BothDirectionsAtOnceOverLossyLink_ArriveByteExact()
    {
        var p = new Pair(5);
        p.PortA.Capture = p.PortB.Capture = false;
        var (c, s, _) = TcpTestKit.Connect(p);
        p.Net.Loss = 0.02;
        p.Net.Reorder = 0.02;
        p.Net.Latency = NetLimits.Millisecond;
        var up = new TcpPump(c, s, 2 << 20, 21);
        var down = new TcpPump(s, c, 2 << 20, 22);
        Assert.True(p.Run(() => up.Step() & down.Step(), 600 * NetLimits.Second), $"up {up.Read} down {down.Read}");
        Assert.True(up.HashesMatch() && down.HashesMatch());
    }

    [Fact]
    public void Transfer_LongFatLink_WindowScalingFillsIt()
    {
        // 100 Mbit/s with a 40 ms round trip: 500 kB in flight are needed; 64 KiB would give ~13 Mbit/s.
        var p = new Pair(6);
        p.PortA.Capture = p.PortB.Capture = false;
        p.Net.Bandwidth = 100_000_000;
        p.Net.Latency = 20 * NetLimits.Millisecond;
        var (c, s, _) = TcpTestKit.Connect(p, buffer: 1 << 20);
        const int total = 16 << 20;
        var pump = new TcpPump(c, s, total, 6);
        long start = p.Net.Now;
        Assert.True(p.Run(pump.Step, 120 * NetLimits.Second));
        double seconds = (p.Net.Now - start) / 1e6;
        double mbit = total * 8 / seconds / 1e6;
        Assert.True(pump.HashesMatch());
        output.WriteLine($"{mbit:F1} Mbit/s, cwnd {c.CongestionWindow}, srtt {c.SmoothedRtt} µs, retransmits {p.A.Stats.TcpRetransmits}, tail drops {p.PortA.TailDrops}");
        Assert.True(mbit > 60, $"only {mbit:F1} Mbit/s of 100");
        Assert.True(c.CongestionWindow > 65535u, $"cwnd {c.CongestionWindow}");
    }
}
