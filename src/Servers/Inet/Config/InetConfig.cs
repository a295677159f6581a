// INET's static configuration (etc/inet.conf, docs/inet.md "Configuration"): the interfaces
// with the DS label of the driver under each, their addresses, and extra routes. Apply puts it
// into an engine once the server knows each interface's MAC and link (from its driver).
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Config;

public sealed record InterfaceConfig(string Name, string Driver, Ip4Address Address, Ip4Address Netmask,
    Ip4Address? Gateway, int Mtu, MacAddress? Mac, int Line);

public sealed record RouteConfig(Ip4Address Destination, Ip4Address Netmask, Ip4Address Gateway, int Line);

public sealed class InetConfig
{
    public InetConfig(string file, IReadOnlyList<InterfaceConfig> interfaces, IReadOnlyList<RouteConfig> routes)
    {
        File = file;
        Interfaces = interfaces;
        Routes = routes;
    }

    public string File { get; }
    public IReadOnlyList<InterfaceConfig> Interfaces { get; }
    public IReadOnlyList<RouteConfig> Routes { get; }

    public static InetConfig Load(string path)
    {
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InetConfigException(path, 0, $"cannot read: {e.Message}");
        }
        return Parse(text, path);
    }

    public static InetConfig Parse(string text, string file = "inet.conf") => new InetConfigParser(text, file).Parse();

    /// <summary>
    /// Adds the interfaces (with their connected routes and default gateways) and the routes to
    /// <paramref name="engine"/>. <paramref name="linkFor"/> gives each interface's link and MAC
    /// (the MAC in the file, if any, wins). A gateway must be on the interface's own network.
    /// </summary>
    public void Apply(NetEngine engine, Func<InterfaceConfig, (INetLink Link, MacAddress Mac)> linkFor)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(linkFor);
        foreach (var i in Interfaces)
        {
            var (link, mac) = linkFor(i);
            var ifc = engine.AddInterface(i.Name, i.Mac ?? mac, i.Address, i.Netmask, link, i.Mtu);
            if (i.Gateway is { } gw) engine.AddRoute(Ip4Address.Any, Ip4Address.Any, gw, ifc.Index);
        }
        foreach (var r in Routes)
        {
            var ifc = engine.Interfaces.FirstOrDefault(i => i.OnLink(r.Gateway))
                ?? throw new InetConfigException(File, r.Line, $"gateway {r.Gateway} is on no interface's network");
            engine.AddRoute(r.Destination, r.Netmask, r.Gateway, ifc.Index);
        }
    }
}
