// The part every socket shares: an id unique for the engine's lifetime, the engine it lives in,
// and its readiness. Subclasses compute readiness (ComputeReadiness); Notify compares it with
// the last value reported and tells the ISocketObserver when it changed, so the server hears of
// each edge once.
namespace Bulkhead.Servers.Inet;

[Flags]
public enum Readiness
{
    None = 0,
    /// <summary>Receive would not block: data, end of stream, a datagram, or (listener) a connection to accept.</summary>
    Readable = 1,
    /// <summary>Send would accept at least one byte.</summary>
    Writable = 2,
    /// <summary>A pending error (PendingError) or a reset.</summary>
    Error = 4,
    /// <summary>The socket is closed for good and its id may be forgotten.</summary>
    Closed = 8,
}

public abstract class NetSocket
{
    private Readiness _reported;

    protected NetSocket(NetEngine engine, int id)
    {
        Engine = engine;
        Id = id;
    }

    public NetEngine Engine { get; }
    public int Id { get; }

    /// <summary>The error that ended or interrupted the socket, cleared when read by TakeError.</summary>
    public NetError PendingError { get; protected internal set; }

    public Readiness Readiness => ComputeReadiness();

    public NetError TakeError()
    {
        var e = PendingError;
        PendingError = NetError.None;
        Notify();
        return e;
    }

    protected abstract Readiness ComputeReadiness();

    internal void Notify()
    {
        var now = ComputeReadiness();
        if (now == _reported) return;
        _reported = now;
        Engine.Observer?.ReadinessChanged(this);
    }
}
