// ARP (RFC 826, RFC 1122 §2.3.2) through the engine: resolution with a queued packet,
// answering requests, retries and giving up, expiry and re-resolution, gratuitous ARP on
// start and on interface reset, the storm limit and the bounded pending queue.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Udp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

public class ArpTests
{
    private static readonly Ip4Address Stranger = Ip4Address.Parse("10.0.0.99");

    [Fact]
    public void AddInterface_Always_SendsGratuitousArp()
    {
        var p = new Pair();
        var g = p.PortA.Sent[0];
        Assert.Equal(0x0806, Frames.EtherTypeOf(g));
        Assert.Equal(1, Frames.ArpOp(g));
        Assert.Equal(Pair.AddrA, Frames.ArpSender(g));
        Assert.Equal(Pair.AddrA, Frames.ArpTarget(g));
    }

    [Fact]
    public void Send_UnresolvedNeighbour_ResolvesThenDeliversQueuedDatagram()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        var sb = p.B.UdpBind(Ip4Address.Any, 2000, out _)!;
        Assert.Null(p.A.ArpLookup(0, Pair.AddrB));
        Assert.Equal(3, sa.SendTo(Pair.AddrB, 2000, "abc"u8));
        UdpDatagram? got = null;
        Assert.True(p.Run(() => (got ??= sb.ReceiveFrom()) != null));
        Assert.Equal("abc"u8.ToArray(), got!.Payload);
        Assert.Equal(Pair.MacB, p.A.ArpLookup(0, Pair.AddrB));
        Assert.Equal(Pair.MacA, p.B.ArpLookup(0, Pair.AddrA)); // learned from the request (RFC 826: we were the target)
    }

    [Fact]
    public void Send_NobodyAnswers_RetriesThenDropsAndCounts()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        int before = p.PortA.Sent.Count;
        sa.SendTo(Stranger, 9, "x"u8);
        sa.SendTo(Stranger, 9, "y"u8);
        p.Net.RunFor(10 * NetLimits.Second);
        var requests = p.PortA.Sent.Skip(before).Where(f => Frames.EtherTypeOf(f) == 0x0806 && Frames.ArpTarget(f) == Stranger).ToList();
        Assert.Equal(1 + NetLimits.ArpRetries, requests.Count);
        Assert.Equal(2, p.A.Stats[DropReason.ArpUnresolved]);
        Assert.Equal(long.MaxValue, p.A.NextDeadline);
    }

    [Fact]
    public void Entry_AfterLifetime_IsResolvedAgain()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        p.B.UdpBind(Ip4Address.Any, 2000, out _);
        sa.SendTo(Pair.AddrB, 2000, "1"u8);
        p.Net.RunFor(NetLimits.Second);
        Assert.NotNull(p.A.ArpLookup(0, Pair.AddrB));
        p.Net.RunFor(NetLimits.ArpEntryLifetime);
        Assert.Null(p.A.ArpLookup(0, Pair.AddrB));
        int before = p.PortA.Sent.Count;
        sa.SendTo(Pair.AddrB, 2000, "2"u8);
        Assert.Equal(0x0806, Frames.EtherTypeOf(p.PortA.Sent[before])); // asks again first
        p.Net.RunFor(NetLimits.Second);
        Assert.NotNull(p.A.ArpLookup(0, Pair.AddrB));
    }

    [Fact]
    public void Request_ForOurAddress_IsAnswered()
    {
        var p = new Pair();
        var other = new MacAddress(0x02_00_00_00_00_99);
        p.A.FrameArrived(0, Frames.Arp(1, other, Stranger, MacAddress.Zero, Pair.AddrA, MacAddress.Broadcast), 0);
        var reply = p.PortA.Sent[^1];
        Assert.Equal(2, Frames.ArpOp(reply));
        Assert.Equal(Pair.AddrA, Frames.ArpSender(reply));
        Assert.Equal(other, MacAddress.Read(reply));
        Assert.Equal(other, p.A.ArpLookup(0, Stranger));
    }

    [Fact]
    public void Requests_BeyondStormLimit_AreCountedNotAnswered()
    {
        var p = new Pair();
        var other = new MacAddress(0x02_00_00_00_00_99);
        int before = p.PortA.Sent.Count;
        for (int i = 0; i < NetLimits.ArpRepliesPerSecond + 50; i++)
            p.A.FrameArrived(0, Frames.Arp(1, other, Stranger, MacAddress.Zero, Pair.AddrA, MacAddress.Broadcast), 5);
        Assert.Equal(NetLimits.ArpRepliesPerSecond, p.PortA.Sent.Count - before);
        Assert.Equal(50, p.A.Stats[DropReason.ArpStormLimit]);
    }

    [Fact]
    public void Requests_FromManyAddresses_KeepCacheBounded()
    {
        var p = new Pair();
        for (int i = 0; i < 1000; i++)
        {
            var ip = new Ip4Address(Pair.AddrA.Value & 0xFFFFFF00 | (uint)(2 + (i % 250)));
            var mac = new MacAddress(0x02_00_00_10_00_00 + (ulong)i);
            p.A.FrameArrived(0, Frames.Arp(1, mac, ip, MacAddress.Zero, Pair.AddrA, MacAddress.Broadcast), i * 10_000L);
        }
        // More distinct neighbours than entries: the table keeps at most ArpCacheEntries.
        int resolved = Enumerable.Range(2, 250).Count(h => p.A.ArpLookup(0, new Ip4Address(Pair.AddrA.Value & 0xFFFFFF00 | (uint)h)) != null);
        Assert.InRange(resolved, 1, NetLimits.ArpCacheEntries);
    }

    [Fact]
    public void PendingQueue_Overflow_DropsOldestAndCounts()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        for (int i = 0; i < NetLimits.ArpPendingPerEntry + 3; i++) sa.SendTo(Stranger, 9, "x"u8);
        for (int i = 0; i < 100; i++) sa.SendTo(Stranger, 9, new byte[1400]); // and the byte bound
        Assert.True(p.A.Stats[DropReason.ArpQueueOverflow] >= 3 + 100 - (NetLimits.ArpPendingBytes / 1400));
    }

    [Fact]
    public void Malformed_ArpPackets_AreCounted()
    {
        var p = new Pair();
        var good = Frames.Arp(1, new MacAddress(0x02_00_00_00_00_99), Stranger, MacAddress.Zero, Pair.AddrA, MacAddress.Broadcast);
        p.A.FrameArrived(0, good.AsSpan(0, 30), 0);                 // truncated
        var badHw = (byte[])good.Clone();
        badHw[15] = 6;                                               // hardware type 6
        p.A.FrameArrived(0, badHw, 0);
        var groupSender = Frames.Arp(1, MacAddress.Broadcast, Stranger, MacAddress.Zero, Pair.AddrA, MacAddress.Broadcast);
        p.A.FrameArrived(0, groupSender, 0);
        Assert.Equal(3, p.A.Stats[DropReason.MalformedArp]);
        Assert.Null(p.A.ArpLookup(0, Stranger));
    }
}
