// ICMP (RFC 792, RFC 1122 §3.2.2): answers echo requests (also to broadcast addresses is not
// done: RFC 1122 lets a host ignore them, and we do), delivers echo replies to echo sockets,
// passes destination-unreachable messages to the UDP socket or TCP connection they concern, and
// sends destination unreachable (port, protocol) for datagrams nobody takes — never about an
// ICMP error, a broadcast, or a non-first fragment, and at most NetLimits.IcmpErrorsPerSecond.
using System.Buffers.Binary;
using Bulkhead.Servers.Inet.Icmp;
using Bulkhead.Servers.Inet.Ip;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet;

public sealed partial class NetEngine
{
    private const int IcmpHeader = 8;
    private long _icmpBucketSecond = -1;
    private int _icmpBucketUsed;
    private readonly Dictionary<ushort, EchoSocket> _echoSockets = [];
    private ushort _nextEchoId;

    private void IcmpInput(in IpPacket packet)
    {
        var p = packet.Payload;
        if (p.Length < IcmpHeader)
        {
            Stats.Drop(DropReason.MalformedIcmp);
            return;
        }
        if (Checksum.Compute(p) != 0)
        {
            Stats.Drop(DropReason.BadIcmpChecksum);
            return;
        }
        switch (p[0])
        {
            case IcmpType.EchoRequest:
                if (packet.Broadcast) return;
                if (IcmpHeader + p.Length > NetLimits.MaxDatagram - IpHeader) return;
                var reply = _tx.AsSpan(TxPayload, p.Length);
                p.CopyTo(reply);
                reply[0] = IcmpType.EchoReply;
                reply[1] = 0;
                reply[2] = reply[3] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(reply[2..], Checksum.Compute(reply));
                IpOutput(packet.Destination, packet.Source, IpProtocol.Icmp, p.Length);
                break;
            case IcmpType.EchoReply:
                ushort id = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
                ushort seq = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
                byte ttl = packet.Header[8];
                if (!_echoSockets.TryGetValue(id, out var s) || !s.Enqueue(new EchoReply(packet.Source, seq, ttl, _now, p[IcmpHeader..].ToArray())))
                    Stats.Drop(DropReason.NoIcmpListener);
                break;
            case IcmpType.Unreachable:
                IcmpUnreachableInput(p[1], p[IcmpHeader..]);
                break;
            default:
                break; // other types are informational for a host; RFC 1122 says ignore unknown types
        }
    }

    /// <summary>Passes a destination unreachable to whoever sent the datagram it quotes.</summary>
    private void IcmpUnreachableInput(byte code, ReadOnlySpan<byte> quoted)
    {
        if (quoted.Length < IpHeader || quoted[0] >> 4 != 4) return;
        int ihl = (quoted[0] & 0xF) * 4;
        if (ihl < IpHeader || quoted.Length < ihl + 8) return;
        var src = Ip4Address.Read(quoted[12..]);
        var dst = Ip4Address.Read(quoted[16..]);
        if (!IsOurAddress(src)) return;
        var t = quoted[ihl..];
        ushort sport = BinaryPrimitives.ReadUInt16BigEndian(t);
        ushort dport = BinaryPrimitives.ReadUInt16BigEndian(t[2..]);
        switch (quoted[9])
        {
            case IpProtocol.Udp: UdpUnreachable(sport, code); break;
            case IpProtocol.Tcp: TcpUnreachable(src, sport, dst, dport, code); break;
            case IpProtocol.Icmp:
                if (quoted[ihl] == IcmpType.EchoRequest && _echoSockets.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(t[4..]), out var e))
                {
                    e.PendingError = NetError.HostUnreachable;
                    e.Notify();
                }
                break;
        }
    }

    /// <summary>Sends an ICMP error about <paramref name="about"/> (quoting its header and 8 bytes, RFC 792).</summary>
    private void SendIcmpError(in IpPacket about, byte type, byte code)
    {
        if (about.Broadcast || about.Source.IsAny) return;
        if (about.Protocol == IpProtocol.Icmp && (about.Payload.Length < 1 || about.Payload[0] is not (IcmpType.EchoRequest or IcmpType.EchoReply))) return;
        if ((BinaryPrimitives.ReadUInt16BigEndian(about.Header[6..]) & 0x1FFF) != 0) return;
        long second = _now / NetLimits.Second;
        if (second != _icmpBucketSecond)
        {
            _icmpBucketSecond = second;
            _icmpBucketUsed = 0;
        }
        if (_icmpBucketUsed >= NetLimits.IcmpErrorsPerSecond)
        {
            Stats.Drop(DropReason.IcmpRateLimit);
            return;
        }
        _icmpBucketUsed++;
        int quote = Math.Min(about.Payload.Length, 8);
        int length = IcmpHeader + about.Header.Length + quote;
        var m = _tx.AsSpan(TxPayload, length);
        m[..IcmpHeader].Clear();
        m[0] = type;
        m[1] = code;
        about.Header.CopyTo(m[IcmpHeader..]);
        about.Payload[..quote].CopyTo(m[(IcmpHeader + about.Header.Length)..]);
        BinaryPrimitives.WriteUInt16BigEndian(m[2..], Checksum.Compute(m));
        IpOutput(about.Destination, about.Source, IpProtocol.Icmp, length);
    }

    /// <summary>Opens a socket for ICMP echo (ping).</summary>
    public EchoSocket? OpenEcho()
    {
        if (!TryTakeSocketId(out int sid)) return null;
        ushort id;
        do id = ++_nextEchoId; while (_echoSockets.ContainsKey(id));
        var s = new EchoSocket(this, sid, id);
        _echoSockets[id] = s;
        RegisterSocket(s);
        return s;
    }

    internal void CloseEcho(EchoSocket s)
    {
        if (s.IsClosed) return;
        s.IsClosed = true;
        _echoSockets.Remove(s.Identifier);
        UnregisterSocket(s);
        s.Notify();
    }

    internal int SendEcho(EchoSocket s, Ip4Address dst, ushort seq, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > NetLimits.MaxDatagram - IpHeader - IcmpHeader) return NetResult.Of(NetError.MessageTooLong);
        var m = _tx.AsSpan(TxPayload, IcmpHeader + payload.Length);
        m[0] = IcmpType.EchoRequest;
        m[1] = 0;
        m[2] = m[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(m[4..], s.Identifier);
        BinaryPrimitives.WriteUInt16BigEndian(m[6..], seq);
        payload.CopyTo(m[IcmpHeader..]);
        BinaryPrimitives.WriteUInt16BigEndian(m[2..], Checksum.Compute(m));
        var e = IpOutput(Ip4Address.Any, dst, IpProtocol.Icmp, m.Length);
        return e == NetError.None ? payload.Length : NetResult.Of(e);
    }
}
