// A UDP socket (RFC 768): bound to a local address (or any) and port; sendto and recvfrom.
// Received datagrams wait in a queue bounded by NetLimits.UdpQueueDatagrams and
// NetLimits.UdpQueueBytes; more are dropped and counted. A port unreachable about a datagram it
// sent sets PendingError (ConnectionRefused), which the next call reports once.
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Udp;

public sealed class UdpSocket : NetSocket
{
    private readonly Queue<UdpDatagram> _queue = new();
    private int _queuedBytes;

    internal UdpSocket(NetEngine engine, int id, Ip4Address address, ushort port) : base(engine, id)
    {
        LocalAddress = address;
        LocalPort = port;
    }

    public Ip4Address LocalAddress { get; }
    public ushort LocalPort { get; }
    internal bool IsClosed { get; set; }

    /// <summary>Sends one datagram; the payload length, or a negative NetError.</summary>
    public int SendTo(Ip4Address destination, ushort port, ReadOnlySpan<byte> payload, bool dontFragment = false)
    {
        if (IsClosed) return NetResult.Of(NetError.Closed);
        if (PendingError != NetError.None) return NetResult.Of(TakeError());
        return Engine.UdpSend(this, destination, port, payload, dontFragment);
    }

    /// <summary>The oldest datagram, or null if none waits (check PendingError).</summary>
    public UdpDatagram? ReceiveFrom()
    {
        if (!_queue.TryDequeue(out var d)) return null;
        _queuedBytes -= d.Payload.Length;
        Notify();
        return d;
    }

    public void Close() => Engine.CloseUdp(this);

    internal bool Enqueue(Ip4Address src, ushort sport, ReadOnlySpan<byte> payload)
    {
        if (_queue.Count >= NetLimits.UdpQueueDatagrams || _queuedBytes + payload.Length > NetLimits.UdpQueueBytes) return false;
        _queue.Enqueue(new UdpDatagram(src, sport, payload.ToArray()));
        _queuedBytes += payload.Length;
        Notify();
        return true;
    }

    protected override Readiness ComputeReadiness() =>
        IsClosed ? Readiness.Closed
        : (_queue.Count > 0 ? Readiness.Readable : 0) | Readiness.Writable | (PendingError != NetError.None ? Readiness.Error : 0);
}
