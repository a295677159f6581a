// TCP in the engine (RFC 9293): the table of connections (by four-tuple) and listeners (by
// port), opening sockets (listen, connect), checking and demultiplexing arriving segments, the
// RST for segments nobody takes (RFC 9293 §3.10.7.1), ICMP errors for connections, and the
// timer sweep. The protocol of one connection is TcpSocket's.
using System.Buffers.Binary;
using Bulkhead.Servers.Inet.Ip;
using Bulkhead.Servers.Inet.Tcp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet;

public sealed partial class NetEngine
{
    private readonly record struct TcpKey(Ip4Address Local, ushort LocalPort, Ip4Address Remote, ushort RemotePort);

    private readonly Dictionary<TcpKey, TcpSocket> _tcpConnections = [];
    private readonly Dictionary<ushort, TcpSocket> _tcpListeners = [];
    private readonly List<TcpSocket> _tcpSweep = [];

    private int _timeWaitCount;

    public int TcpConnectionCount => _tcpConnections.Count;
    /// <summary>Connections in TIME-WAIT that no program holds any more.</summary>
    public int TimeWaitCount => _timeWaitCount;

    /// <summary>Opens a listening socket; null with <paramref name="error"/> set on failure.</summary>
    public TcpSocket? TcpListen(Ip4Address address, ushort port, int backlog, out NetError error,
        int sendBuffer = NetLimits.DefaultTcpBuffer, int receiveBuffer = NetLimits.DefaultTcpBuffer)
    {
        error = CheckBuffers(sendBuffer, receiveBuffer);
        if (error != NetError.None) return null;
        if (port == 0 || (!address.IsAny && !IsOurAddress(address)) || backlog < 1)
        {
            error = NetError.InvalidArgument;
            return null;
        }
        if (_tcpListeners.ContainsKey(port))
        {
            error = NetError.AddressInUse;
            return null;
        }
        var s = NewTcpSocket(sendBuffer, receiveBuffer, out error);
        if (s == null) return null;
        s.StartListen(address, port, Math.Min(backlog, NetLimits.MaxBacklog));
        _tcpListeners[port] = s;
        return s;
    }

    /// <summary>Starts an active open (SYN-SENT); the socket becomes writable when established.</summary>
    public TcpSocket? TcpConnect(Ip4Address remote, ushort remotePort, out NetError error, ushort localPort = 0,
        int sendBuffer = NetLimits.DefaultTcpBuffer, int receiveBuffer = NetLimits.DefaultTcpBuffer)
    {
        error = CheckBuffers(sendBuffer, receiveBuffer);
        if (error != NetError.None) return null;
        if (remotePort == 0 || remote.IsAny || remote.IsBroadcast || remote.IsMulticast)
        {
            error = NetError.InvalidArgument;
            return null;
        }
        if (!TryRoute(remote, out var ifc, out _))
        {
            error = NetError.NoRoute;
            return null;
        }
        var local = ifc.Address;
        if (localPort == 0) localPort = EphemeralPort(p => _tcpListeners.ContainsKey(p) || _tcpConnections.ContainsKey(new TcpKey(local, p, remote, remotePort)));
        if (localPort == 0 || _tcpConnections.ContainsKey(new TcpKey(local, localPort, remote, remotePort)))
        {
            error = NetError.AddressInUse;
            return null;
        }
        var s = NewTcpSocket(sendBuffer, receiveBuffer, out error);
        if (s == null) return null;
        _tcpConnections[new TcpKey(local, localPort, remote, remotePort)] = s;
        s.StartConnect(local, localPort, remote, remotePort, ifc.Mtu, NewIss());
        return s;
    }

    private TcpSocket? NewTcpSocket(int sendBuffer, int receiveBuffer, out NetError error)
    {
        error = NetError.None;
        if (!TryTakeSocketId(out int id))
        {
            error = NetError.NoBuffers;
            return null;
        }
        var s = new TcpSocket(this, id, sendBuffer, receiveBuffer);
        RegisterSocket(s);
        return s;
    }

    private static NetError CheckBuffers(int send, int receive) =>
        send is < NetLimits.MinTcpBuffer or > NetLimits.MaxTcpBuffer || receive is < NetLimits.MinTcpBuffer or > NetLimits.MaxTcpBuffer
            ? NetError.InvalidArgument : NetError.None;

    private uint NewIss() => (uint)_random.NextInt64(0, 1L << 32);

    internal uint NewTimestampOffset() => (uint)_random.NextInt64(0, 1L << 32);

    private void TcpInput(in IpPacket packet)
    {
        var p = packet.Payload;
        if (p.Length < TcpSegment.Header)
        {
            Stats.Drop(DropReason.MalformedTcp);
            return;
        }
        if (Checksum.Finish(Checksum.Sum(p, Checksum.PseudoHeader(packet.Source.Value, packet.Destination.Value, IpProtocol.Tcp, p.Length))) != 0)
        {
            Stats.Drop(DropReason.BadTcpChecksum);
            return;
        }
        if (TcpSegment.TryParse(p, out var seg) is { } bad)
        {
            Stats.Drop(bad);
            return;
        }
        if (packet.Broadcast || seg.SourcePort == 0 || seg.DestinationPort == 0)
        {
            Stats.Drop(DropReason.MalformedTcp);
            return;
        }
        var key = new TcpKey(packet.Destination, seg.DestinationPort, packet.Source, seg.SourcePort);
        if (_tcpConnections.TryGetValue(key, out var conn) && conn.State == TcpState.TimeWait
            && seg.Flags == TcpFlags.Syn && Seq.Gt(seg.Seq, conn.RcvNxt) && _tcpListeners.ContainsKey(seg.DestinationPort))
        {
            // A new incarnation of the connection (RFC 9293 §3.6.1, as BSD and Linux do): its
            // SYN is beyond everything the old one sent, so TIME-WAIT ends and a listener takes it.
            conn.EndTimeWait();
            conn = null;
        }
        if (conn != null)
        {
            conn.SegmentArrives(ref seg);
            return;
        }
        if (_tcpListeners.TryGetValue(seg.DestinationPort, out var listener)
            && (listener.LocalAddress.IsAny || listener.LocalAddress == packet.Destination))
        {
            listener.ListenerSegmentArrives(ref seg, packet.Destination, packet.Source, packet.Interface.Mtu);
            return;
        }
        Stats.Drop(DropReason.NoTcpListener);
        SendRstFor(ref seg, packet.Destination, packet.Source);
    }

    /// <summary>Creates the SYN-RECEIVED child of a listener for an arriving SYN; null (counted) if no room.</summary>
    internal TcpSocket? TcpAcceptSyn(TcpSocket listener, Ip4Address local, Ip4Address remote, ushort remotePort)
    {
        var child = NewTcpSocket(listener.SendBufferSize, listener.ReceiveBufferSize, out _);
        if (child == null) return null;
        child.NoDelay = listener.NoDelay;
        _tcpConnections[new TcpKey(local, listener.LocalPort, remote, remotePort)] = child;
        return child;
    }

    internal uint TcpNewIss() => NewIss();

    internal void TcpForget(TcpSocket s, bool wasTimeWait)
    {
        var key = new TcpKey(s.LocalAddress, s.LocalPort, s.RemoteAddress, s.RemotePort);
        if (_tcpConnections.TryGetValue(key, out var c) && c == s) _tcpConnections.Remove(key);
        if (!s.UserClosed) return;
        if (wasTimeWait && !_sockets.ContainsKey(s.Id)) _timeWaitCount--;
        UnregisterSocket(s);
    }

    /// <summary>
    /// A connection the program has closed sits in TIME-WAIT: it leaves the socket table (so
    /// TIME-WAITs do not use up NetLimits.MaxSockets) and counts against NetLimits.MaxTimeWait;
    /// past that, the one that would end first ends now.
    /// </summary>
    internal void TcpEnteredTimeWait(TcpSocket s)
    {
        if (!s.UserClosed || !_sockets.Remove(s.Id)) return;
        if (++_timeWaitCount <= NetLimits.MaxTimeWait) return;
        TcpSocket? oldest = null;
        foreach (var c in _tcpConnections.Values)
            if (c.State == TcpState.TimeWait && c.UserClosed && c != s && (oldest == null || c.TimeWaitEnds < oldest.TimeWaitEnds)) oldest = c;
        oldest?.EndTimeWait();
    }

    /// <summary>The connection reached CLOSED: it leaves the table, and the socket table once the program closed it too.</summary>
    internal void TcpCloseListener(TcpSocket s)
    {
        if (_tcpListeners.TryGetValue(s.LocalPort, out var l) && l == s) _tcpListeners.Remove(s.LocalPort);
        // Handshakes still in progress have nobody to accept them any more.
        _tcpSweep.Clear();
        foreach (var c in _tcpConnections.Values)
            if (c.Listener == s) _tcpSweep.Add(c);
        foreach (var c in _tcpSweep) c.Abort();
    }

    /// <summary>RFC 9293 §3.10.7.1: a segment for no connection is answered with a RST, unless it is one.</summary>
    private void SendRstFor(ref TcpSegment seg, Ip4Address local, Ip4Address remote)
    {
        if (seg.Has(TcpFlags.Rst)) return;
        if (seg.Has(TcpFlags.Ack)) TcpSendBare(local, seg.DestinationPort, remote, seg.SourcePort, seg.Ack, 0, TcpFlags.Rst);
        else TcpSendBare(local, seg.DestinationPort, remote, seg.SourcePort, 0, seg.Seq + (uint)seg.Length, TcpFlags.Rst | TcpFlags.Ack);
    }

    /// <summary>A segment with no options and no data (RST, or a challenge ACK of a closed socket).</summary>
    internal void TcpSendBare(Ip4Address local, ushort localPort, Ip4Address remote, ushort remotePort, uint seq, uint ack, TcpFlags flags, ushort window = 0)
    {
        var h = TcpBuffer(TcpSegment.Header);
        WriteTcpHeader(h, localPort, remotePort, seq, ack, flags, window, TcpSegment.Header);
        TcpTransmit(local, remote, TcpSegment.Header);
    }

    /// <summary>The engine's transmit buffer where a TCP segment of <paramref name="length"/> bytes is built.</summary>
    internal Span<byte> TcpBuffer(int length) => _tx.AsSpan(TxPayload, length);

    internal static void WriteTcpHeader(Span<byte> h, ushort sport, ushort dport, uint seq, uint ack, TcpFlags flags, ushort window, int headerLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(h, sport);
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], dport);
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(h[8..], ack);
        h[12] = (byte)(headerLength / 4 << 4);
        h[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(h[14..], window);
        h[16] = h[17] = h[18] = h[19] = 0;
    }

    /// <summary>Checksums the segment built in TcpBuffer and sends it.</summary>
    internal void TcpTransmit(Ip4Address local, Ip4Address remote, int length)
    {
        var s = TcpBuffer(length);
        BinaryPrimitives.WriteUInt16BigEndian(s[16..], Checksum.Finish(Checksum.Sum(s, Checksum.PseudoHeader(local.Value, remote.Value, IpProtocol.Tcp, length))));
        IpOutput(local, remote, IpProtocol.Tcp, length);
    }

    private void TcpTimers()
    {
        _tcpSweep.Clear();
        foreach (var c in _tcpConnections.Values)
            if (c.NextDeadline <= _now) _tcpSweep.Add(c);
        foreach (var c in _tcpSweep) c.RunTimers();
    }

    private long TcpNextDeadline()
    {
        long d = long.MaxValue;
        foreach (var c in _tcpConnections.Values) d = Math.Min(d, c.NextDeadline);
        return d;
    }

    /// <summary>The interface came back: its connections resend what the dead driver may have lost.</summary>
    private void TcpInterfaceRestarted(Link.NetInterface ifc)
    {
        _tcpSweep.Clear();
        foreach (var c in _tcpConnections.Values)
            if (c.LocalAddress == ifc.Address) _tcpSweep.Add(c);
        foreach (var c in _tcpSweep) c.LinkRestarted();
    }

    private void TcpUnreachable(Ip4Address local, ushort localPort, Ip4Address remote, ushort remotePort, byte code)
    {
        if (_tcpConnections.TryGetValue(new TcpKey(local, localPort, remote, remotePort), out var c)) c.IcmpUnreachable(code);
    }
}
