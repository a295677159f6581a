// A socket for ping: sends ICMP echo requests with its own identifier and queues the replies
// that carry it (at most NetLimits.EchoQueue; more are dropped and counted). A destination
// unreachable that quotes one of its requests sets PendingError.
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Icmp;

public sealed class EchoSocket : NetSocket
{
    private readonly Queue<EchoReply> _replies = new();

    internal EchoSocket(NetEngine engine, int id, ushort identifier) : base(engine, id) => Identifier = identifier;

    public ushort Identifier { get; }
    internal bool IsClosed { get; set; }

    /// <summary>Sends an echo request; a negative NetError result if it cannot leave.</summary>
    public int Send(Ip4Address destination, ushort sequence, ReadOnlySpan<byte> payload) =>
        IsClosed ? NetResult.Of(NetError.Closed) : Engine.SendEcho(this, destination, sequence, payload);

    /// <summary>The oldest reply, or null if none waits.</summary>
    public EchoReply? Receive()
    {
        if (!_replies.TryDequeue(out var r)) return null;
        Notify();
        return r;
    }

    public void Close() => Engine.CloseEcho(this);

    internal bool Enqueue(EchoReply reply)
    {
        if (_replies.Count >= NetLimits.EchoQueue) return false;
        _replies.Enqueue(reply);
        Notify();
        return true;
    }

    protected override Readiness ComputeReadiness() =>
        IsClosed ? Readiness.Closed
        : (_replies.Count > 0 ? Readiness.Readable : 0) | Readiness.Writable | (PendingError != NetError.None ? Readiness.Error : 0);
}
