// Several interfaces: A sits on two networks (B on 10.0.0.0/24 via eth0, C on 10.1.0.0/24 via
// eth1) with a default gateway C. Each destination leaves through the interface its route
// names, with that interface's address as source and its own ARP cache.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Udp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

public class MultiInterfaceTests
{
    [Fact]
    public void Routes_ChooseInterfaceSourceAndGateway()
    {
        var net = new SimNet(41);
        var a = new NetEngine(1);
        var b = new NetEngine(2);
        var c = new NetEngine(3);
        foreach (var e in new[] { a, b, c }) net.AddEngine(e);
        var a0 = net.Port(a);
        var a1 = net.Port(a);
        a1.Interface = 1;
        var pb = net.Port(b);
        var pc = net.Port(c);
        SimNet.Connect(a0, pb);
        SimNet.Connect(a1, pc);
        var addrA1 = Ip4Address.Parse("10.1.0.1");
        var addrC = Ip4Address.Parse("10.1.0.2");
        var macA1 = new MacAddress(0x02_00_00_00_01_01);
        var macC = new MacAddress(0x02_00_00_00_01_02);
        a.AddInterface("eth0", Pair.MacA, Pair.AddrA, Pair.Mask24, a0);
        a.AddInterface("eth1", macA1, addrA1, Pair.Mask24, a1);
        a.AddRoute(Ip4Address.Any, Ip4Address.Any, addrC, 1);
        b.AddInterface("eth0", Pair.MacB, Pair.AddrB, Pair.Mask24, pb);
        c.AddInterface("eth0", macC, addrC, Pair.Mask24, pc);

        var ua = a.UdpBind(Ip4Address.Any, 1000, out _)!;
        var ub = b.UdpBind(Ip4Address.Any, 2000, out _)!;
        var uc = c.UdpBind(Ip4Address.Any, 2000, out _)!;
        ua.SendTo(Pair.AddrB, 2000, "to b"u8);
        ua.SendTo(addrC, 2000, "to c"u8);
        UdpDatagram? gb = null, gc = null;
        Assert.True(net.Run(() => (gb ??= ub.ReceiveFrom()) != null & (gc ??= uc.ReceiveFrom()) != null, NetLimits.Second));
        Assert.Equal(Pair.AddrA, gb!.Source);  // eth0's address toward B
        Assert.Equal(addrA1, gc!.Source);      // eth1's address toward C
        Assert.Equal(Pair.MacB, a.ArpLookup(0, Pair.AddrB));
        Assert.Null(a.ArpLookup(1, Pair.AddrB));
        Assert.Equal(macC, a.ArpLookup(1, addrC));

        // Off-link: through the default gateway C, on eth1, to C's MAC with the far address inside.
        int before = a1.Sent.Count;
        ua.SendTo(Ip4Address.Parse("192.0.2.7"), 53, "far"u8);
        var frame = a1.Sent.Skip(before).Single();
        Assert.Equal(macC, MacAddress.Read(frame));
        Assert.Equal(Ip4Address.Parse("192.0.2.7"), Ip4Address.Read(frame.AsSpan(14 + 16)));
        Assert.Equal(addrA1, Ip4Address.Read(frame.AsSpan(14 + 12)));

        // One interface down does not hold up the other.
        a.InterfaceDown(0);
        ua.SendTo(addrC, 2000, "still"u8);
        UdpDatagram? g2 = null;
        Assert.True(net.Run(() => (g2 ??= uc.ReceiveFrom()) != null, NetLimits.Second));
        Assert.False(a.Interfaces[0].Up);
        Assert.Equal(0, a.Interfaces[0].QueuedWhileDown); // nothing for eth0 waited
    }
}
