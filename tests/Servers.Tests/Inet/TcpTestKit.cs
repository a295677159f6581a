// Helpers shared by the TCP tests: open a connection between the two engines of a Pair.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Tcp;

namespace Bulkhead.Servers.Tests.Inet;

internal static class TcpTestKit
{
    /// <summary>B listens on <paramref name="port"/>, A connects; both ends once established.</summary>
    public static (TcpSocket Client, TcpSocket Server, TcpSocket Listener) Connect(Pair p, ushort port = 80,
        int buffer = NetLimits.DefaultTcpBuffer, long limit = 10 * NetLimits.Second)
    {
        var listener = p.B.TcpListen(Pair.AddrB, port, 8, out var e, buffer, buffer) ?? throw new InvalidOperationException($"listen: {e}");
        var client = p.A.TcpConnect(Pair.AddrB, port, out e, 0, buffer, buffer) ?? throw new InvalidOperationException($"connect: {e}");
        TcpSocket? server = null;
        Assert.True(p.Run(() => (server ??= listener.Accept()) != null && client.State == TcpState.Established, limit),
            $"no connection: client {client.State}, seed {p.Net.Seed}");
        return (client, server!, listener);
    }
}
