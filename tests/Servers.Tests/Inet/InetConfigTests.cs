// inet.conf: a valid file configures an engine (interfaces, connected routes, default gateway,
// extra routes); each kind of mistake is reported as "<file>:<line>: <reason>" at its line.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Config;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

public class InetConfigTests
{
    private const string Valid = """
        # two cards
        interface eth0 {
            driver eth_rtl8139;
            address 10.0.2.15;
            netmask 255.255.255.0;
            gateway 10.0.2.2;
        };
        interface eth1 {
            driver eth_dp8390;
            address 192.168.7.1;
            netmask 255.255.255.0;
            mtu 1400;
            mac 52:54:00:12:34:57;
        };
        route 172.16.0.0/12 via 192.168.7.254;
        """;

    private sealed class NullLink : INetLink
    {
        public int Frames;
        public void Transmit(ReadOnlySpan<byte> frame) => Frames++;
    }

    [Fact]
    public void Parse_ValidFile_ConfiguresEngine()
    {
        var c = InetConfig.Parse(Valid, "inet.conf");
        Assert.Equal(2, c.Interfaces.Count);
        Assert.Equal("eth_rtl8139", c.Interfaces[0].Driver);
        Assert.Equal(Ip4Address.Parse("10.0.2.2"), c.Interfaces[0].Gateway);
        Assert.Equal(1400, c.Interfaces[1].Mtu);
        var engine = new NetEngine(1);
        var link = new NullLink();
        c.Apply(engine, i => (link, new MacAddress(0x02_00_00_00_00_10 + (ulong)i.Line)));
        Assert.Equal(2, engine.Interfaces.Count);
        Assert.Equal(new MacAddress(0x52_54_00_12_34_57), engine.Interfaces[1].Mac);
        Assert.True(engine.Routes.TryLookup(Ip4Address.Parse("8.8.8.8"), out var def));
        Assert.Equal(Ip4Address.Parse("10.0.2.2"), def.Gateway);
        Assert.True(engine.Routes.TryLookup(Ip4Address.Parse("172.20.1.1"), out var r));
        Assert.Equal(1, r.Interface);
        Assert.True(engine.Routes.TryLookup(Ip4Address.Parse("192.168.7.9"), out var on));
        Assert.True(on.Gateway.IsAny);
        Assert.Equal(2, link.Frames); // a gratuitous ARP per interface
    }

    [Theory]
    [InlineData("interface eth0 {\n driver d;\n address 10.0.0.1;\n}", 4, "expected ';' after '}'")]
    [InlineData("interface eth0 {\n driver d;\n address 10.0.0.256;\n netmask 255.0.0.0;\n};", 3, "not an IPv4 address")]
    [InlineData("interface eth0 {\n driver d;\n address 10.0.0.1;\n};", 1, "has no 'netmask'")]
    [InlineData("interface eth0 {\n driver d\n address 10.0.0.1;\n netmask 255.0.0.0;\n};", 2, "expected ';'")]
    [InlineData("interface eth0 {\n driver d;\n address 10.0.0.1;\n netmask 255.0.255.0;\n};", 4, "not a contiguous mask")]
    [InlineData("interface eth0 {\n driver d;\n address 10.0.0.1;\n netmask 255.255.255.0;\n gateway 10.0.1.1;\n};", 5, "not another host")]
    [InlineData("interface eth0 {\n driver d;\n address 10.0.0.1;\n netmask 255.255.255.0;\n mtu 100;\n};", 5, "mtu '100'")]
    [InlineData("interface eth0 {\n driver d;\n address 10.0.0.1;\n netmask 255.255.255.0;\n mac ff:ff:ff:ff:ff:ff;\n};", 5, "not a unicast MAC")]
    [InlineData("interface eth0 {\n driver d;\n driver e;\n};", 3, "'driver' given twice")]
    [InlineData("interface eth0 {\n speed 100;\n};", 2, "expected one of")]
    [InlineData("interface eth0 {\n driver d;\n address 10.0.0.0;\n netmask 255.255.255.0;\n};", 3, "not a host address")]
    [InlineData("route 10.0.0.0/8 via 10.1.1.1;", 1, "on no interface's network")]
    [InlineData("route 10.0.0.1/8 via 10.1.1.1;", 1, "host bits set")]
    [InlineData("routes 10.0.0.0/8;", 1, "expected 'interface' or 'route'")]
    [InlineData("interface eth0 {\n driver d;\n", 1, "not closed")]
    public void Parse_Mistake_ReportsFileAndLine(string text, int line, string reason)
    {
        var e = Assert.Throws<InetConfigException>(() => InetConfig.Parse(text, "etc/inet.conf"));
        Assert.Equal(line, e.Line);
        Assert.Contains(reason, e.Reason);
        Assert.StartsWith($"etc/inet.conf:{line}: ", e.Message);
    }

    [Fact]
    public void Parse_DuplicateInterface_PointsAtFirst()
    {
        var e = Assert.Throws<InetConfigException>(() => InetConfig.Parse(
            "interface a {\n driver d;\n address 10.0.0.1;\n netmask 255.0.0.0;\n};\ninterface a {\n};", "x"));
        Assert.Equal(6, e.Line);
        Assert.Contains("first at line 1", e.Reason);
    }
}
