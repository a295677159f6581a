// ICMP (RFC 792, RFC 1122 §3.2.2) and UDP (RFC 768) through the engine: ping both ways, port
// unreachable generated and received, checksums, bounded queues.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Icmp;
using Bulkhead.Servers.Inet.Udp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

public class IcmpUdpTests
{
    private static readonly Ip4Address Far = Ip4Address.Parse("10.0.0.77");
    private static readonly MacAddress FarMac = new(0x02_00_00_00_00_77);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Ping_EitherDirection_GetsEchoReply(bool fromA)
    {
        var p = new Pair();
        var (src, dst) = fromA ? (p.A, Pair.AddrB) : (p.B, Pair.AddrA);
        var echo = src.OpenEcho()!;
        var payload = Enumerable.Range(0, 56).Select(i => (byte)i).ToArray();
        for (ushort seq = 1; seq <= 3; seq++)
        {
            Assert.Equal(56, echo.Send(dst, seq, payload));
            EchoReply? r = null;
            Assert.True(p.Run(() => (r ??= echo.Receive()) != null));
            Assert.Equal(seq, r!.Sequence);
            Assert.Equal(dst, r.Source);
            Assert.Equal(payload, r.Payload);
        }
    }

    [Fact]
    public void EchoRequest_Handmade_ReplyHasValidChecksumAndSameData()
    {
        var p = new Pair();
        var req = Frames.Icmp(8, 0, 0x1234, 9, "ping!"u8);
        p.B.FrameArrived(0, Frames.Arp(2, FarMac, Far, Pair.MacB, Pair.AddrB, Pair.MacB), 0); // teach B the MAC
        p.B.FrameArrived(0, Frames.IpFrame(Pair.MacB, FarMac, Far, Pair.AddrB, 1, req), 0);
        var reply = p.PortB.Sent[^1];
        Assert.Equal(FarMac, MacAddress.Read(reply));
        var icmp = reply.AsSpan(34);
        Assert.Equal(0, icmp[0]);
        Assert.Equal(0, Checksum.Compute(icmp));
        Assert.Equal("ping!"u8.ToArray(), icmp[8..].ToArray());
        Assert.Equal(0, Checksum.Compute(reply.AsSpan(14, 20)));
    }

    [Fact]
    public void EchoRequest_BadChecksumOrTruncated_IsCounted()
    {
        var p = new Pair();
        var req = Frames.Icmp(8, 0, 1, 1, "x"u8);
        req[2] ^= 1;
        p.B.FrameArrived(0, Frames.IpFrame(Pair.MacB, FarMac, Far, Pair.AddrB, 1, req), 0);
        p.B.FrameArrived(0, Frames.IpFrame(Pair.MacB, FarMac, Far, Pair.AddrB, 1, new byte[4]), 0);
        Assert.Equal(1, p.B.Stats[DropReason.BadIcmpChecksum]);
        Assert.Equal(1, p.B.Stats[DropReason.MalformedIcmp]);
    }

    [Fact]
    public void Udp_ToUnboundPort_SenderGetsPortUnreachable()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        sa.SendTo(Pair.AddrB, 4444, "anyone?"u8);
        Assert.True(p.Run(() => sa.PendingError != NetError.None));
        Assert.Equal(1, p.B.Stats[DropReason.NoUdpListener]);
        Assert.True(sa.Readiness.HasFlag(Readiness.Error));
        Assert.Equal(NetError.ConnectionRefused, NetResult.ErrorOf(sa.SendTo(Pair.AddrB, 4444, "again"u8)));
        Assert.Contains(p.Events, e => e.Socket == sa && e.Readiness.HasFlag(Readiness.Error));
    }

    [Fact]
    public void Udp_RoundTrip_BothWays()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Pair.AddrA, 0, out _)!;
        var sb = p.B.UdpBind(Ip4Address.Any, 7, out _)!;
        Assert.InRange(sa.LocalPort, NetLimits.EphemeralFirst, NetLimits.EphemeralLast);
        sa.SendTo(Pair.AddrB, 7, "echo me"u8);
        UdpDatagram? d = null;
        Assert.True(p.Run(() => (d ??= sb.ReceiveFrom()) != null));
        Assert.Equal(Pair.AddrA, d!.Source);
        sb.SendTo(d.Source, d.SourcePort, d.Payload);
        UdpDatagram? back = null;
        Assert.True(p.Run(() => (back ??= sa.ReceiveFrom()) != null));
        Assert.Equal("echo me"u8.ToArray(), back!.Payload);
    }

    [Fact]
    public void Udp_ZeroChecksumAccepted_BadChecksumAndBadLengthCounted()
    {
        var p = new Pair();
        var sb = p.B.UdpBind(Ip4Address.Any, 2000, out _)!;
        p.B.FrameArrived(0, Frames.IpFrame(Pair.MacB, FarMac, Far, Pair.AddrB, 17, Frames.Udp(Far, Pair.AddrB, 5, 2000, "nosum"u8, checksum: false)), 0);
        Assert.Equal("nosum"u8.ToArray(), sb.ReceiveFrom()!.Payload);
        var bad = Frames.Udp(Far, Pair.AddrB, 5, 2000, "data"u8);
        bad[9] ^= 0x40;
        p.B.FrameArrived(0, Frames.IpFrame(Pair.MacB, FarMac, Far, Pair.AddrB, 17, bad), 0);
        Assert.Equal(1, p.B.Stats[DropReason.BadUdpChecksum]);
        var longLen = Frames.Udp(Far, Pair.AddrB, 5, 2000, "data"u8, checksum: false);
        longLen[5] = 200;
        p.B.FrameArrived(0, Frames.IpFrame(Pair.MacB, FarMac, Far, Pair.AddrB, 17, longLen), 0);
        Assert.Equal(1, p.B.Stats[DropReason.MalformedUdp]);
        Assert.Null(sb.ReceiveFrom());
    }

    [Fact]
    public void Udp_QueueFull_DropsAndCounts()
    {
        var p = new Pair();
        p.B.UdpBind(Ip4Address.Any, 2000, out _);
        for (int i = 0; i < NetLimits.UdpQueueDatagrams + 5; i++)
            p.B.FrameArrived(0, Frames.IpFrame(Pair.MacB, FarMac, Far, Pair.AddrB, 17, Frames.Udp(Far, Pair.AddrB, 5, 2000, "d"u8)), 0);
        Assert.Equal(5, p.B.Stats[DropReason.UdpQueueFull]);
    }

    [Fact]
    public void Udp_BindTwice_AddressInUse()
    {
        var p = new Pair();
        Assert.NotNull(p.A.UdpBind(Ip4Address.Any, 53, out _));
        Assert.Null(p.A.UdpBind(Ip4Address.Any, 53, out var e));
        Assert.Equal(NetError.AddressInUse, e);
        Assert.Null(p.A.UdpBind(Ip4Address.Parse("10.9.9.9"), 54, out e));
        Assert.Equal(NetError.InvalidArgument, e);
    }

    [Fact]
    public void IcmpErrors_AreRateLimited()
    {
        var p = new Pair();
        p.B.FrameArrived(0, Frames.Arp(2, FarMac, Far, Pair.MacB, Pair.AddrB, Pair.MacB), 0);
        for (int i = 0; i < NetLimits.IcmpErrorsPerSecond + 20; i++)
            p.B.FrameArrived(0, Frames.IpFrame(Pair.MacB, FarMac, Far, Pair.AddrB, 17, Frames.Udp(Far, Pair.AddrB, 5, 999, "d"u8)), 10);
        Assert.Equal(20, p.B.Stats[DropReason.IcmpRateLimit]);
    }

    [Fact]
    public void Sockets_BeyondLimit_AreRefused()
    {
        var p = new Pair();
        for (int i = 0; i < NetLimits.MaxSockets; i++) Assert.NotNull(p.A.UdpBind(Ip4Address.Any, 0, out _));
        Assert.Null(p.A.UdpBind(Ip4Address.Any, 0, out var e));
        Assert.Equal(NetError.NoBuffers, e);
        Assert.Null(p.A.OpenEcho());
        Assert.True(p.A.Stats[DropReason.SocketTableFull] >= 2);
    }

    [Fact]
    public void UnicastInLinkBroadcast_IsDropped()
    {
        var p = new Pair();
        var sb = p.B.UdpBind(Ip4Address.Any, 2000, out _)!;
        p.B.FrameArrived(0, Frames.IpFrame(MacAddress.Broadcast, FarMac, Far, Pair.AddrB, 17, Frames.Udp(Far, Pair.AddrB, 5, 2000, "d"u8)), 0);
        Assert.Null(sb.ReceiveFrom());
        Assert.Equal(1, p.B.Stats[DropReason.NotForUs]);
        p.B.FrameArrived(0, Frames.IpFrame(MacAddress.Broadcast, FarMac, Far, Ip4Address.Broadcast, 17, Frames.Udp(Far, Ip4Address.Broadcast, 5, 2000, "b"u8)), 0);
        Assert.Equal("b"u8.ToArray(), sb.ReceiveFrom()!.Payload);
    }

    [Fact]
    public void Stats_Format_ListsCountersAndNonZeroDrops()
    {
        var p = new Pair();
        p.B.FrameArrived(0, new byte[3], 0);
        var text = p.B.Stats.Format();
        Assert.Contains("frames-in 1\n", text); // the runt (A's gratuitous ARP is still on the wire)
        Assert.Contains("drop MalformedFrame 1\n", text);
        Assert.DoesNotContain("BadIpChecksum", text);
    }

    [Fact]
    public void Time_GoingBack_IsIgnored()
    {
        var p = new Pair();
        p.A.Advance(5 * NetLimits.Second);
        p.A.Advance(NetLimits.Second);
        Assert.Equal(5 * NetLimits.Second, p.A.Now);
    }
}
