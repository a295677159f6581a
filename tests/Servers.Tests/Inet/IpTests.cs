// IPv4 through the engine (RFC 791, RFC 1122 §3.3): fragment reassembly in any order and with
// overlaps, bounded memory for fragments that never complete, fragmentation on send and
// don't-fragment, and a drop counter for every malformed header.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Udp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

public class IpTests
{
    private static readonly Ip4Address Far = Ip4Address.Parse("10.0.0.77");
    private static readonly MacAddress FarMac = new(0x02_00_00_00_00_77);

    private static void Deliver(Pair p, byte[] ip, long now = 0) => p.B.FrameArrived(0, Frames.Ethernet(Pair.MacB, FarMac, 0x0800, ip), now);

    /// <summary>A UDP datagram from Far to B:2000 cut at the given byte offsets of the IP payload.</summary>
    private static List<byte[]> Fragments(byte[] udp, ushort id, params int[] cuts)
    {
        var bounds = cuts.Prepend(0).Append(udp.Length).ToArray();
        var list = new List<byte[]>();
        for (int i = 0; i + 1 < bounds.Length; i++)
        {
            bool more = i + 2 < bounds.Length;
            list.Add(Frames.Ip(Far, Pair.AddrB, 17, udp.AsSpan(bounds[i], bounds[i + 1] - bounds[i]), id, (more ? 0x2000 : 0) | (bounds[i] / 8)));
        }
        return list;
    }

    private static byte[] Payload(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public void Reassembly_FragmentsInReverseOrder_DeliversDatagram()
    {
        var p = new Pair();
        var s = p.B.UdpBind(Ip4Address.Any, 2000, out _)!;
        var data = Payload(3000, 1);
        var frags = Fragments(Frames.Udp(Far, Pair.AddrB, 5, 2000, data), 42, 1480, 2960);
        frags.Reverse();
        foreach (var f in frags) Deliver(p, f);
        Assert.Equal(data, s.ReceiveFrom()!.Payload);
        Assert.Equal(0, p.B.Stats.TotalDrops);
    }

    [Fact]
    public void Reassembly_OverlappingAndRepeatedFragments_DeliversDatagramOnce()
    {
        var p = new Pair();
        var s = p.B.UdpBind(Ip4Address.Any, 2000, out _)!;
        var data = Payload(2400, 2);
        var udp = Frames.Udp(Far, Pair.AddrB, 5, 2000, data);
        var a = Fragments(udp, 7, 1600);       // [0,1600) [1600,end)
        var b = Fragments(udp, 7, 800, 2400);  // [0,800) [800,2400) [2400,end)
        Deliver(p, b[1]);
        Deliver(p, a[0]);
        Deliver(p, b[1]);
        Deliver(p, a[1]);
        Assert.Equal(data, s.ReceiveFrom()!.Payload);
        Assert.Null(s.ReceiveFrom());
    }

    [Fact]
    public void Reassembly_FragmentsThatNeverComplete_StayBoundedAndTimeOut()
    {
        var p = new Pair();
        p.B.UdpBind(Ip4Address.Any, 2000, out _);
        var udp = Frames.Udp(Far, Pair.AddrB, 5, 2000, Payload(60000, 3));
        for (int id = 0; id < 500; id++)
        {
            // Every datagram gets its first and last fragment, never the middle.
            var frags = Fragments(udp, (ushort)id, 1480, 59000);
            Deliver(p, frags[0]);
            Deliver(p, frags[2]);
        }
        Assert.True(p.B.Stats[DropReason.ReassemblyOverflow] > 0);
        p.Net.RunFor(NetLimits.ReassemblyTimeout + NetLimits.Second);
        Assert.True(p.B.Stats[DropReason.ReassemblyTimeout] > 0);
        Assert.Equal(long.MaxValue, p.B.NextDeadline);
    }

    [Fact]
    public void Reassembly_ManyPartialDatagrams_NeverExceedsBudget()
    {
        var p = new Pair();
        var udp = Frames.Udp(Far, Pair.AddrB, 5, 2000, Payload(60000, 4));
        var field = typeof(NetEngine).GetProperty("ReassemblyBytesInUse", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var slots = typeof(NetEngine).GetProperty("ReassemblySlotsInUse", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        for (int id = 0; id < 300; id++)
        {
            Deliver(p, Fragments(udp, (ushort)id, 59000)[1]); // only the far end: forces a large buffer
            Assert.InRange((int)field.GetValue(p.B)!, 0, NetLimits.ReassemblyBytes);
            Assert.InRange((int)slots.GetValue(p.B)!, 0, NetLimits.ReassemblySlots);
        }
    }

    [Fact]
    public void Send_LargerThanMtu_IsFragmentedAndReassembled()
    {
        var p = new Pair(mtu: 576);
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        var sb = p.B.UdpBind(Ip4Address.Any, 2000, out _)!;
        var data = Payload(5000, 5);
        Assert.Equal(5000, sa.SendTo(Pair.AddrB, 2000, data));
        UdpDatagram? got = null;
        Assert.True(p.Run(() => (got ??= sb.ReceiveFrom()) != null));
        Assert.Equal(data, got!.Payload);
        var ipFrames = p.PortA.Sent.Where(f => Frames.EtherTypeOf(f) == 0x0800).ToList();
        Assert.True(ipFrames.Count >= 9);
        Assert.All(ipFrames, f => Assert.True(f.Length - 14 <= 576));
    }

    [Fact]
    public void Send_LargerThanMtuWithDontFragment_FailsAndCounts()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        Assert.Equal(NetError.MessageTooLong, NetResult.ErrorOf(sa.SendTo(Pair.AddrB, 2000, new byte[2000], dontFragment: true)));
        Assert.Equal(1, p.A.Stats[DropReason.NeedsFragmentation]);
        Assert.Equal(1000, sa.SendTo(Pair.AddrB, 2000, new byte[1000], dontFragment: true));
    }

    [Fact]
    public void Input_MalformedHeaders_AreCountedPerReason()
    {
        var p = new Pair();
        var good = Frames.Ip(Far, Pair.AddrB, 17, Frames.Udp(Far, Pair.AddrB, 5, 2000, "x"u8));

        var badSum = (byte[])good.Clone();
        badSum[10] ^= 0xFF;
        Deliver(p, badSum);
        Assert.Equal(1, p.B.Stats[DropReason.BadIpChecksum]);

        Deliver(p, good.AsSpan(0, 12).ToArray());
        Assert.Equal(1, p.B.Stats[DropReason.TruncatedHeader]);

        var v6 = Frames.Ip(Far, Pair.AddrB, 17, "x"u8);
        v6[0] = 0x65;
        Deliver(p, v6);
        Assert.Equal(1, p.B.Stats[DropReason.MalformedIp]);

        var tooLong = (byte[])good.Clone();
        tooLong[2] = 0x10; // total length 4096+ but the frame is short
        tooLong[10] = tooLong[11] = 0;
        Deliver(p, tooLong);
        Assert.Equal(2, p.B.Stats[DropReason.TruncatedHeader]);

        // An option (type 7, record route) whose length runs 4 bytes past the 4-byte option area.
        Deliver(p, Frames.Ip(Far, Pair.AddrB, 17, "x"u8, options: [7, 8, 4, 0]));
        Assert.Equal(1, p.B.Stats[DropReason.OptionsPastHeader]);

        Deliver(p, Frames.Ip(Far, Ip4Address.Parse("10.0.0.200"), 17, "x"u8));
        Assert.Equal(1, p.B.Stats[DropReason.NotOurAddress]);

        Deliver(p, Frames.Ip(Far, Pair.AddrB, 99, "x"u8));
        Assert.Equal(1, p.B.Stats[DropReason.UnknownProtocol]);

        p.B.FrameArrived(0, new byte[10], 0);
        Assert.Equal(1, p.B.Stats[DropReason.MalformedFrame]);
        p.B.FrameArrived(0, Frames.Ethernet(Pair.MacB, FarMac, 0x86DD, new byte[40]), 0);
        Assert.Equal(1, p.B.Stats[DropReason.UnknownEtherType]);
        p.B.FrameArrived(0, Frames.Ethernet(new MacAddress(0x02_00_00_00_00_55), FarMac, 0x0800, good), 0);
        Assert.Equal(1, p.B.Stats[DropReason.NotForUs]);
    }

    [Fact]
    public void Input_ValidOptions_AreAccepted()
    {
        var p = new Pair();
        var s = p.B.UdpBind(Ip4Address.Any, 2000, out _)!;
        Deliver(p, Frames.Ip(Far, Pair.AddrB, 17, Frames.Udp(Far, Pair.AddrB, 5, 2000, "x"u8), options: [1, 1, 1, 0]));
        Assert.NotNull(s.ReceiveFrom());
    }

    [Fact]
    public void Route_ViaGateway_ResolvesGatewayMac()
    {
        var p = new Pair();
        p.A.AddRoute(Ip4Address.Any, Ip4Address.Any, Pair.AddrB, 0);
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        sa.SendTo(Ip4Address.Parse("192.0.2.1"), 53, "q"u8);
        p.Net.RunFor(NetLimits.Second);
        var udpFrame = p.PortA.Sent.Last(f => Frames.EtherTypeOf(f) == 0x0800);
        Assert.Equal(Pair.MacB, MacAddress.Read(udpFrame));
        Assert.Equal(Ip4Address.Parse("192.0.2.1"), Ip4Address.Read(udpFrame.AsSpan(14 + 16)));
        Assert.Equal(1, p.B.Stats[DropReason.NotOurAddress]); // B is a host, not a router
    }

    [Fact]
    public void Send_NoRoute_FailsAndCounts()
    {
        var p = new Pair();
        var sa = p.A.UdpBind(Ip4Address.Any, 1000, out _)!;
        Assert.Equal(NetError.NoRoute, NetResult.ErrorOf(sa.SendTo(Ip4Address.Parse("192.0.2.1"), 53, "q"u8)));
    }
}
