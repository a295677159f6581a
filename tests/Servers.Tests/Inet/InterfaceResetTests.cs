// Driver recovery as the engine sees it (thesis §4.3.1): an interface goes down (its driver
// crashed) and comes back (InterfaceReset), maybe with a new MAC. TCP connections survive and
// arrive byte-exact because retransmission repairs what was lost; the engine announces itself
// with a gratuitous ARP and sends what waited in the bounded down-queue.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;
using Bulkhead.Servers.Inet.Udp;
using Bulkhead.Servers.Inet.Wire;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Inet;

public class InterfaceResetTests(ITestOutputHelper output)
{
    private static void Kill(Pair p, long unnoticed = 0)
    {
        p.PortA.Down = true;     // the driver is dead: nothing moves through the card,
        p.Net.RunFor(unnoticed); // what INET hands it before it notices is lost,
        p.A.InterfaceDown(0);    // then INET has noticed (the DS update, §4.3.1)
    }

    private static void Restart(Pair p, MacAddress? mac = null)
    {
        p.PortA.Down = false;
        p.A.InterfaceReset(0, p.Net.Now, mac: mac);
    }

    [Fact]
    public void Transfer_DriverDownForSecondsMidway_CompletesByteExact()
    {
        var p = new Pair(31);
        p.Net.Bandwidth = 100_000_000;
        p.PortB.Capture = false;
        var (c, s, _) = TcpTestKit.Connect(p);
        const int total = 4 << 20;
        var pump = new TcpPump(c, s, total, 31);
        Assert.True(p.Run(() => { pump.Step(); return pump.Read > total / 2; }, 60 * NetLimits.Second));
        Kill(p);
        p.Net.RunFor(3 * NetLimits.Second);
        Assert.Equal(TcpState.Established, c.State);
        int mark = p.PortA.Sent.Count;
        Restart(p);
        var first = p.PortA.Sent[mark];
        Assert.Equal(0x0806, Frames.EtherTypeOf(first));                  // gratuitous ARP first
        Assert.Equal(Pair.AddrA, Frames.ArpTarget(first));
        Assert.True(p.Run(pump.Step, 120 * NetLimits.Second), $"read {pump.Read}");
        Assert.True(pump.HashesMatch());
        Assert.True(p.A.Stats.TcpTimeouts > 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Transfer_DriverKilledTwiceASecond_CompletesByteExact(bool download)
    {
        var p = new Pair(32);
        p.Net.Bandwidth = 100_000_000;
        p.Net.Latency = 500;
        p.Net.QueueLimit = 100;
        p.PortA.Capture = p.PortB.Capture = false;
        var (c, s, _) = TcpTestKit.Connect(p);
        const int total = 24 << 20;
        // A's driver dies; a download to A is Fig. 5.16's case, an upload from A the other one.
        var pump = download ? new TcpPump(s, c, total, 32) : new TcpPump(c, s, total, 32);
        long start = p.Net.Now;
        int kills = 0;
        long nextKill = p.Net.Now + (NetLimits.Second / 2);
        while (!pump.Step())
        {
            Assert.True(p.Net.Now < 600 * NetLimits.Second, $"stuck at {pump.Read} of {total}");
            p.Run(() => pump.Step() || p.Net.Now >= nextKill, NetLimits.Second);
            if (p.Net.Now >= nextKill && pump.Read < total)
            {
                Kill(p, 20 * NetLimits.Millisecond);
                kills++;
                p.Net.RunFor(80 * NetLimits.Millisecond); // RS restarts the driver
                Restart(p);
                nextKill = p.Net.Now + (NetLimits.Second / 2);
            }
        }
        Assert.True(pump.HashesMatch());
        Assert.True(kills >= 3, $"{kills} kills");
        var sender = download ? p.B : p.A;
        output.WriteLine($"{kills} kills, {total / ((p.Net.Now - start) / 1e6) / 1e6:F1} MB/s, sender: timeouts {sender.Stats.TcpTimeouts}, fast retransmits {sender.Stats.TcpFastRetransmits}, segments resent {sender.Stats.TcpRetransmits}");
        Assert.True(sender.Stats.TcpRetransmits > 0); // frames were lost with the driver, and resent
        Assert.Equal(NetError.None, c.PendingError);
    }

    [Fact]
    public void Download_DriverKilledBriefly_PeerFastRetransmits_NoTimeout()
    {
        // The receiver's driver dies for 50 ms: what the peer sent meanwhile is lost. The three
        // duplicate ACKs the receiver sends when its driver is back make the peer resend at once
        // (fast retransmit) instead of waiting for its RTO.
        var p = new Pair(33);
        p.Net.Bandwidth = 100_000_000;
        p.Net.Latency = 500;
        p.PortB.Capture = false;
        var (c, s, _) = TcpTestKit.Connect(p);
        const int total = 8 << 20;
        var pump = new TcpPump(s, c, total, 33);
        Assert.True(p.Run(() => { pump.Step(); return pump.Read > total / 4; }, 60 * NetLimits.Second));
        long timeouts = p.B.Stats.TcpTimeouts, fast = p.B.Stats.TcpFastRetransmits;
        Kill(p, 20 * NetLimits.Millisecond);
        p.Net.RunFor(30 * NetLimits.Millisecond);
        int mark = p.PortA.Sent.Count;
        Restart(p);
        // What A sent at once: its ACK and three duplicates of it (same ack, same window, no data).
        var acks = p.PortA.Sent.Skip(mark).Where(f => Frames.EtherTypeOf(f) == 0x0800 && Frames.IpProtocolOf(f) == 6)
            .Select(PureAck).Where(a => a is not null).ToList();
        Assert.True(acks.Count >= 4, $"{acks.Count} pure ACKs after the restart");
        Assert.All(acks, a => Assert.Equal(acks[0], a));
        Assert.True(p.Run(pump.Step, 120 * NetLimits.Second), $"read {pump.Read}");
        Assert.True(pump.HashesMatch());
        output.WriteLine($"peer: fast retransmits +{p.B.Stats.TcpFastRetransmits - fast}, timeouts +{p.B.Stats.TcpTimeouts - timeouts}");
        Assert.True(p.B.Stats.TcpFastRetransmits > fast, "the peer did not fast-retransmit");
        Assert.Equal(timeouts, p.B.Stats.TcpTimeouts);
    }

    /// <summary>(ack, window) of a TCP segment with no data and only ACK set; null for anything else.</summary>
    private static (uint Ack, int Window)? PureAck(byte[] f)
    {
        int ip = 14, ihl = (f[ip] & 0xF) * 4, totalLength = (f[ip + 2] << 8) | f[ip + 3];
        int tcp = ip + ihl, offset = (f[tcp + 12] >> 4) * 4;
        if (f[tcp + 13] != 0x10 || totalLength - ihl - offset != 0) return null;
        return (System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(tcp + 8)), (f[tcp + 14] << 8) | f[tcp + 15]);
    }

    [Fact]
    public void Reset_WithNewMac_PeerLearnsItFromGratuitousArp()
    {
        var p = new Pair();
        var (c, s, _) = TcpTestKit.Connect(p);
        Assert.Equal(Pair.MacA, p.B.ArpLookup(0, Pair.AddrA));
        var newMac = new MacAddress(0x02_00_00_00_00_a1);
        Kill(p);
        Restart(p, newMac);
        p.Net.RunFor(10 * NetLimits.Millisecond);
        Assert.Equal(newMac, p.B.ArpLookup(0, Pair.AddrA));
        Assert.Equal(5, c.Send("after"u8));
        Assert.True(p.Run(() => s.Available == 5));
    }

    [Fact]
    public void DownQueue_FramesWaitUntilResetAndOverflowIsCounted()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        var sb = p.B.UdpBind(Ip4Address.Any, 2000, out _)!;
        sa.SendTo(Pair.AddrB, 2000, "warm"u8);
        Assert.True(p.Run(() => sb.ReceiveFrom() != null));
        Kill(p);
        for (int i = 0; i < NetLimits.DownQueueFrames + 10; i++) sa.SendTo(Pair.AddrB, 2000, new[] { (byte)i });
        Assert.Equal(NetLimits.DownQueueFrames, p.A.Interfaces[0].QueuedWhileDown);
        Assert.Equal(10, p.A.Stats[DropReason.InterfaceDownOverflow]);
        Restart(p);
        var got = new List<UdpDatagram>();
        Assert.True(p.Run(() =>
        {
            while (sb.ReceiveFrom() is { } d) got.Add(d);
            return got.Count == NetLimits.DownQueueFrames;
        }));
        Assert.Equal(Enumerable.Range(0, NetLimits.DownQueueFrames).Select(i => (byte)i), got.Select(d => d.Payload[0]));
    }
}
