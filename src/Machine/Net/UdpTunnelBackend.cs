// A NIC backend joining two Bulkhead instances over UDP: each frame travels as one datagram to
// the peer's address, and datagrams are delivered only when they come from that peer's exact
// address and port (anything else is dropped). Frames longer than an Ethernet frame without FCS
// (1518 bytes, room for a VLAN tag) or empty are dropped in both directions. A reader thread
// polls the socket with a short timeout so that Dispose can stop it, wait for it, then close.
using System.Net;
using System.Net.Sockets;

namespace Bulkhead.Machine.Net;

public sealed class UdpTunnelBackend : INicBackend
{
    public const int MaxFrame = 1518;
    private const int PollTimeoutMicroseconds = 100_000;

    private readonly object _lock = new();
    private readonly Socket _socket;
    private readonly IPEndPoint _peer;
    private readonly Thread _reader;
    private volatile bool _stopping;
    private Action<ReadOnlySpan<byte>>? _receiver;

    public UdpTunnelBackend(IPEndPoint local, IPEndPoint peer)
        : this(Bind(local), peer)
    {
    }

    /// <summary>Takes ownership of an already bound UDP socket (e.g. bound to port 0).</summary>
    public UdpTunnelBackend(Socket bound, IPEndPoint peer)
    {
        ArgumentNullException.ThrowIfNull(bound);
        ArgumentNullException.ThrowIfNull(peer);
        if (bound.LocalEndPoint is null) throw new ArgumentException("socket is not bound", nameof(bound));
        _socket = bound;
        _peer = Normalize(peer);
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"udp tunnel {bound.LocalEndPoint}" };
        _reader.Start();
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public IPEndPoint Peer => _peer;

    private static Socket Bind(IPEndPoint local)
    {
        ArgumentNullException.ThrowIfNull(local);
        var s = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            s.Bind(local);
        }
        catch
        {
            s.Dispose();
            throw;
        }
        return s;
    }

    private static IPEndPoint Normalize(IPEndPoint ep) =>
        ep.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(ep.Address.MapToIPv4(), ep.Port) : ep;

    public void Attach(Action<ReadOnlySpan<byte>> receiver)
    {
        lock (_lock) _receiver = receiver;
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty || frame.Length > MaxFrame || _stopping) return;
        try
        {
            _socket.SendTo(frame, SocketFlags.None, _peer);
        }
        catch (SocketException)
        {
            // Peer not listening (ICMP refused) or buffers full: a frame lost on the wire.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void ReadLoop()
    {
        // Larger than MaxFrame so an oversize datagram is seen whole and dropped, not truncated.
        byte[] buffer = new byte[65536];
        EndPoint from = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!_stopping)
        {
            int n;
            try
            {
                if (!_socket.Poll(PollTimeoutMicroseconds, SelectMode.SelectRead)) continue;
                if (_stopping) return;
                n = _socket.ReceiveFrom(buffer, SocketFlags.None, ref from);
            }
            catch (SocketException)
            {
                continue; // e.g. ICMP port unreachable reported on a later receive
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (n == 0 || n > MaxFrame) continue;
            if (!Normalize((IPEndPoint)from).Equals(_peer)) continue;

            Action<ReadOnlySpan<byte>>? rcv;
            lock (_lock) rcv = _receiver;
            rcv?.Invoke(new ReadOnlySpan<byte>(buffer, 0, n));
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopping) return;
            _stopping = true;
            _receiver = null;
        }
        if (Thread.CurrentThread != _reader) _reader.Join();
        _socket.Dispose();
    }
}
