// Reader of inet.conf, in the configuration language of boot.conf and drivers.conf (tokens from
// Bulkhead.Lib.Config.ConfigLexer). Grammar:
//   file      := (interface | route)*
//   interface := "interface" NAME "{" setting* "}" ";"
//   setting   := ("driver" LABEL | "address" A.B.C.D | "netmask" A.B.C.D | "gateway" A.B.C.D
//                 | "mtu" N | "mac" XX:XX:XX:XX:XX:XX) ";"
//   route     := "route" A.B.C.D/LEN "via" A.B.C.D ";"
// driver, address and netmask are required; each setting at most once. Every mistake throws
// InetConfigException "<file>:<line>: <reason>" at the line it concerns; the whole file is
// checked before anything is returned.
using System.Globalization;
using Bulkhead.Lib.Config;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Config;

internal sealed class InetConfigParser
{
    private static readonly string[] Settings = ["driver", "address", "netmask", "gateway", "mtu", "mac"];

    private readonly string _file;
    private readonly string _text;
    private List<ConfigToken> _tokens = [];
    private int _pos;

    public InetConfigParser(string text, string file)
    {
        _text = text;
        _file = file;
    }

    private ConfigToken Peek => _tokens[_pos];

    private ConfigToken Next() => _tokens[Math.Min(_pos++, _tokens.Count - 1)];

    private InetConfigException Error(int line, string reason) => new(_file, line, reason);

    public InetConfig Parse()
    {
        try
        {
            _tokens = ConfigLexer.Tokenize(_text, strings: false);
        }
        catch (ConfigSyntaxException e)
        {
            throw Error(e.Line, e.Reason);
        }
        var interfaces = new List<InterfaceConfig>();
        var routes = new List<RouteConfig>();
        while (!Peek.Is(ConfigTokenKind.End))
        {
            var t = Next();
            if (t.Is(ConfigTokenKind.Word) && t.Text == "interface") interfaces.Add(ParseInterface(t, interfaces));
            else if (t.Is(ConfigTokenKind.Word) && t.Text == "route") routes.Add(ParseRoute(t));
            else throw Error(t.Line, $"expected 'interface' or 'route', found {t.Shown}");
        }
        if (interfaces.Count > NetLimits.MaxInterfaces) throw Error(interfaces[^1].Line, $"at most {NetLimits.MaxInterfaces} interfaces");
        if (interfaces.Count(i => i.Gateway != null) > 1)
            throw Error(interfaces.Where(i => i.Gateway != null).ElementAt(1).Line, "more than one interface has a default gateway");
        foreach (var r in routes)
            if (!interfaces.Any(i => (r.Gateway.Value & i.Netmask.Value) == (i.Address.Value & i.Netmask.Value)))
                throw Error(r.Line, $"gateway {r.Gateway} is on no interface's network");
        return new InetConfig(_file, interfaces, routes);
    }

    private InterfaceConfig ParseInterface(ConfigToken start, List<InterfaceConfig> seen)
    {
        var name = Word(start, "an interface name");
        if (name.Text.Length > 15 || !name.Text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw Error(name.Line, $"interface name '{name.Text}' must be 1..15 letters, digits, '_', '-' or '.'");
        if (seen.FirstOrDefault(i => i.Name == name.Text) is { } first)
            throw Error(name.Line, $"duplicate interface '{name.Text}' (first at line {first.Line})");
        Expect(ConfigTokenKind.Open, "'{'", name);
        var values = new Dictionary<string, ConfigToken>();
        while (true)
        {
            var key = Next();
            if (key.Is(ConfigTokenKind.Close)) break;
            if (key.Is(ConfigTokenKind.End)) throw Error(start.Line, $"interface '{name.Text}' is not closed with '}}'");
            if (!key.Is(ConfigTokenKind.Word) || !Settings.Contains(key.Text))
                throw Error(key.Line, $"expected one of {string.Join(", ", Settings)} or '}}', found {key.Shown}");
            if (values.ContainsKey(key.Text)) throw Error(key.Line, $"'{key.Text}' given twice for interface '{name.Text}'");
            values[key.Text] = Word(key, $"a value after '{key.Text}'");
            Expect(ConfigTokenKind.Semicolon, "';'", values[key.Text]);
        }
        Expect(ConfigTokenKind.Semicolon, "';' after '}'", _tokens[_pos - 1]);
        foreach (var required in new[] { "driver", "address", "netmask" })
            if (!values.ContainsKey(required)) throw Error(start.Line, $"interface '{name.Text}' has no '{required}'");
        var address = Address(values["address"]);
        var netmask = Address(values["netmask"]);
        if (netmask.PrefixLength is < 1 or > 30) throw Error(values["netmask"].Line, $"netmask {netmask} is not a contiguous mask of /1../30");
        if (address.IsAny || address.IsBroadcast || address.IsMulticast || (address.Value & ~netmask.Value) == 0 || (address.Value | netmask.Value) == 0xFFFFFFFF)
            throw Error(values["address"].Line, $"{address} is not a host address on a /{netmask.PrefixLength} network");
        Ip4Address? gateway = null;
        if (values.TryGetValue("gateway", out var g))
        {
            var gw = Address(g);
            if ((gw.Value & netmask.Value) != (address.Value & netmask.Value) || gw == address)
                throw Error(g.Line, $"gateway {gw} is not another host on {address}/{netmask.PrefixLength}");
            gateway = gw;
        }
        int mtu = NetLimits.DefaultMtu;
        if (values.TryGetValue("mtu", out var m)
            && (!int.TryParse(m.Text, NumberStyles.None, CultureInfo.InvariantCulture, out mtu) || mtu is < NetLimits.MinMtu or > NetLimits.MaxMtu))
            throw Error(m.Line, $"mtu '{m.Text}' is not a number in {NetLimits.MinMtu}..{NetLimits.MaxMtu}");
        MacAddress? mac = null;
        if (values.TryGetValue("mac", out var mt))
        {
            if (!MacAddress.TryParse(mt.Text, out var parsed) || parsed.IsGroup || parsed == MacAddress.Zero)
                throw Error(mt.Line, $"'{mt.Text}' is not a unicast MAC address (xx:xx:xx:xx:xx:xx)");
            mac = parsed;
        }
        return new InterfaceConfig(name.Text, values["driver"].Text, address, netmask, gateway, mtu, mac, start.Line);
    }

    private RouteConfig ParseRoute(ConfigToken start)
    {
        var dest = Word(start, "a destination A.B.C.D/LEN after 'route'");
        var parts = dest.Text.Split('/');
        if (parts.Length != 2 || !Ip4Address.TryParse(parts[0], out var net)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int len) || len > 32)
            throw Error(dest.Line, $"'{dest.Text}' is not a destination A.B.C.D/LEN");
        var mask = Ip4Address.Mask(len);
        if ((net.Value & ~mask.Value) != 0) throw Error(dest.Line, $"'{dest.Text}' has host bits set");
        var via = Word(dest, "'via'");
        if (via.Text != "via") throw Error(via.Line, $"expected 'via', found {via.Shown}");
        var gw = Address(Word(via, "a gateway after 'via'"));
        Expect(ConfigTokenKind.Semicolon, "';'", _tokens[_pos - 1]);
        return new RouteConfig(net, mask, gw, start.Line);
    }

    private ConfigToken Word(ConfigToken after, string what)
    {
        var t = Next();
        if (t.Is(ConfigTokenKind.End)) throw Error(after.Line, $"unexpected end of file (expected {what})");
        if (!t.Is(ConfigTokenKind.Word)) throw Error(t.Line, $"expected {what}, found {t.Shown}");
        return t;
    }

    private void Expect(ConfigTokenKind kind, string what, ConfigToken after)
    {
        var t = Next();
        if (t.Is(kind)) return;
        // A new line that starts with something else almost always means a missing ';' before it.
        int line = t.Line > after.Line && kind == ConfigTokenKind.Semicolon ? after.Line : t.Line;
        throw Error(line, $"expected {what}, found {t.Shown}");
    }

    private Ip4Address Address(ConfigToken t) =>
        Ip4Address.TryParse(t.Text, out var a) ? a : throw Error(t.Line, $"'{t.Text}' is not an IPv4 address (A.B.C.D)");
}
