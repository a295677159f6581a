// The socket table: at most NetLimits.MaxSockets sockets of any kind (TCP, UDP, echo) at once,
// each with an id never reused during the engine's life; and ephemeral port choice from the
// engine's seeded Random (RFC 6056 style: random start, linear probe).
namespace Bulkhead.Servers.Inet;

public sealed partial class NetEngine
{
    private readonly Dictionary<int, NetSocket> _sockets = [];
    private int _nextSocketId;
    private int _reserved; // ids handed out but not yet registered

    public int SocketCount => _sockets.Count;

    public NetSocket? FindSocket(int id) => _sockets.GetValueOrDefault(id);

    private bool TryTakeSocketId(out int id)
    {
        id = 0;
        if (_sockets.Count + _reserved >= NetLimits.MaxSockets)
        {
            Stats.Drop(DropReason.SocketTableFull);
            return false;
        }
        id = ++_nextSocketId;
        _reserved++;
        return true;
    }

    private void RegisterSocket(NetSocket s)
    {
        _reserved--;
        _sockets.Add(s.Id, s);
    }

    private void UnregisterSocket(NetSocket s) => _sockets.Remove(s.Id);

    /// <summary>A free ephemeral port for which <paramref name="inUse"/> says no, or 0.</summary>
    private ushort EphemeralPort(Func<ushort, bool> inUse)
    {
        const int span = NetLimits.EphemeralLast - NetLimits.EphemeralFirst + 1;
        int start = _random.Next(span);
        for (int i = 0; i < span; i++)
        {
            var port = (ushort)(NetLimits.EphemeralFirst + ((start + i) % span));
            if (!inUse(port)) return port;
        }
        return 0;
    }
}
