// UDP (RFC 768, RFC 1122 §4.1): checksums over the pseudo-header both ways (a zero checksum on
// input means none was computed), delivery by local port, and a port unreachable (ICMP) for a
// datagram no socket takes.
using System.Buffers.Binary;
using Bulkhead.Servers.Inet.Ip;
using Bulkhead.Servers.Inet.Udp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet;

public sealed partial class NetEngine
{
    private const int UdpHeader = 8;
    private readonly Dictionary<ushort, UdpSocket> _udpPorts = [];

    /// <summary>Binds a UDP socket; port 0 picks an ephemeral port. Null with <paramref name="error"/> set on failure.</summary>
    public UdpSocket? UdpBind(Ip4Address address, ushort port, out NetError error)
    {
        error = NetError.None;
        if (!address.IsAny && !IsOurAddress(address))
        {
            error = NetError.InvalidArgument;
            return null;
        }
        if (port == 0) port = EphemeralPort(_udpPorts.ContainsKey);
        if (port == 0 || _udpPorts.ContainsKey(port))
        {
            error = NetError.AddressInUse;
            return null;
        }
        if (!TryTakeSocketId(out int id))
        {
            error = NetError.NoBuffers;
            return null;
        }
        var s = new UdpSocket(this, id, address, port);
        _udpPorts[port] = s;
        RegisterSocket(s);
        s.Notify();
        return s;
    }

    internal void CloseUdp(UdpSocket s)
    {
        if (s.IsClosed) return;
        s.IsClosed = true;
        _udpPorts.Remove(s.LocalPort);
        UnregisterSocket(s);
        s.Notify();
    }

    internal int UdpSend(UdpSocket s, Ip4Address dst, ushort dport, ReadOnlySpan<byte> payload, bool dontFragment)
    {
        if (dport == 0) return NetResult.Of(NetError.InvalidArgument);
        int length = UdpHeader + payload.Length;
        if (length > NetLimits.MaxDatagram - IpHeader) return NetResult.Of(NetError.MessageTooLong);
        var src = s.LocalAddress.IsAny ? SourceFor(dst) : s.LocalAddress;
        if (src.IsAny) return NetResult.Of(NetError.NoRoute);
        var u = _tx.AsSpan(TxPayload, length);
        BinaryPrimitives.WriteUInt16BigEndian(u, s.LocalPort);
        BinaryPrimitives.WriteUInt16BigEndian(u[2..], dport);
        BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)length);
        u[6] = u[7] = 0;
        payload.CopyTo(u[UdpHeader..]);
        ushort sum = Checksum.Finish(Checksum.Sum(u, Checksum.PseudoHeader(src.Value, dst.Value, IpProtocol.Udp, length)));
        BinaryPrimitives.WriteUInt16BigEndian(u[6..], sum == 0 ? (ushort)0xFFFF : sum);
        var e = IpOutput(src, dst, IpProtocol.Udp, length, dontFragment);
        return e == NetError.None ? payload.Length : NetResult.Of(e);
    }

    private void UdpInput(in IpPacket packet)
    {
        var p = packet.Payload;
        if (p.Length < UdpHeader)
        {
            Stats.Drop(DropReason.MalformedUdp);
            return;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        if (length < UdpHeader || length > p.Length)
        {
            Stats.Drop(DropReason.MalformedUdp);
            return;
        }
        p = p[..length];
        if (BinaryPrimitives.ReadUInt16BigEndian(p[6..]) != 0
            && Checksum.Finish(Checksum.Sum(p, Checksum.PseudoHeader(packet.Source.Value, packet.Destination.Value, IpProtocol.Udp, length))) != 0)
        {
            Stats.Drop(DropReason.BadUdpChecksum);
            return;
        }
        ushort sport = BinaryPrimitives.ReadUInt16BigEndian(p);
        ushort dport = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (!_udpPorts.TryGetValue(dport, out var s) || (!s.LocalAddress.IsAny && s.LocalAddress != packet.Destination && !packet.Broadcast))
        {
            Stats.Drop(DropReason.NoUdpListener);
            SendIcmpError(packet, IcmpType.Unreachable, IcmpType.PortUnreachable);
            return;
        }
        if (!s.Enqueue(packet.Source, sport, p[UdpHeader..])) Stats.Drop(DropReason.UdpQueueFull);
    }

    private void UdpUnreachable(ushort localPort, byte code)
    {
        if (code != IcmpType.PortUnreachable || !_udpPorts.TryGetValue(localPort, out var s)) return;
        s.PendingError = NetError.ConnectionRefused;
        s.Notify();
    }
}
