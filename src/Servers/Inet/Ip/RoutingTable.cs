// The routing table: at most NetLimits.MaxRoutes routes, looked up by longest prefix. Each
// interface contributes its connected route; a default gateway is the route 0.0.0.0/0 via it.
// A gateway of 0.0.0.0 means the destination is on the link itself.
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Ip;

public readonly record struct Route(Ip4Address Destination, Ip4Address Netmask, Ip4Address Gateway, int Interface)
{
    public override string ToString() =>
        $"{Destination}/{Netmask.PrefixLength} {(Gateway.IsAny ? "on-link" : $"via {Gateway}")} if {Interface}";
}

public sealed class RoutingTable
{
    private readonly List<Route> _routes = [];

    public IReadOnlyList<Route> Routes => _routes;

    internal void Add(Ip4Address destination, Ip4Address netmask, Ip4Address gateway, int interfaceIndex)
    {
        if (_routes.Count == NetLimits.MaxRoutes) throw new InvalidOperationException($"at most {NetLimits.MaxRoutes} routes");
        var dest = new Ip4Address(destination.Value & netmask.Value);
        _routes.RemoveAll(r => r.Destination == dest && r.Netmask == netmask);
        _routes.Add(new Route(dest, netmask, gateway, interfaceIndex));
    }

    /// <summary>The most specific route to <paramref name="destination"/>.</summary>
    public bool TryLookup(Ip4Address destination, out Route route)
    {
        route = default;
        int best = -1;
        foreach (var r in _routes)
        {
            if ((destination.Value & r.Netmask.Value) != r.Destination.Value) continue;
            int len = r.Netmask.PrefixLength;
            if (len <= best) continue;
            best = len;
            route = r;
        }
        return best >= 0;
    }
}
