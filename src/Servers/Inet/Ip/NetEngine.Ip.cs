// IPv4 (RFC 791, RFC 1122 §3.2-3.3): input checks every header field before use (version, IHL,
// total length, checksum, option lengths, addresses) and hands fragments to the Reassembler;
// output routes, fills the header and fragments a datagram larger than the interface MTU unless
// don't-fragment is set. Transport layers write their payload at TxPayload in the engine's
// transmit buffer and call IpOutput, so nothing is copied or allocated on the way down.
// Hosts do not forward: a datagram for an address not ours is dropped and counted.
using System.Buffers.Binary;
using Bulkhead.Servers.Inet.Ip;
using Bulkhead.Servers.Inet.Link;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet;

public sealed partial class NetEngine
{
    private const int IpHeader = 20;
    /// <summary>Where a transport header starts in _tx.</summary>
    private const int TxPayload = NetLimits.EthernetHeader + IpHeader;

    private readonly byte[] _tx = new byte[NetLimits.EthernetHeader + NetLimits.MaxDatagram];
    private readonly byte[] _fragment = new byte[NetLimits.EthernetHeader + NetLimits.MaxMtu];
    private readonly Reassembler _reassembler;
    private ushort _ipId;

    internal int ReassemblySlotsInUse => _reassembler.SlotsInUse;
    internal int ReassemblyBytesInUse => _reassembler.BytesInUse;

    private void IpInput(NetInterface ifc, ReadOnlySpan<byte> p, bool linkBroadcast)
    {
        if (p.Length < IpHeader)
        {
            Stats.Drop(DropReason.TruncatedHeader);
            return;
        }
        int ihl = (p[0] & 0xF) * 4;
        if (p[0] >> 4 != 4 || ihl < IpHeader)
        {
            Stats.Drop(DropReason.MalformedIp);
            return;
        }
        int total = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (ihl > p.Length || total > p.Length)
        {
            Stats.Drop(DropReason.TruncatedHeader);
            return;
        }
        if (total < ihl)
        {
            Stats.Drop(DropReason.MalformedIp);
            return;
        }
        if (Checksum.Compute(p[..ihl]) != 0)
        {
            Stats.Drop(DropReason.BadIpChecksum);
            return;
        }
        if (!OptionsFit(p[IpHeader..ihl]))
        {
            Stats.Drop(DropReason.OptionsPastHeader);
            return;
        }
        var src = Ip4Address.Read(p[12..]);
        var dst = Ip4Address.Read(p[16..]);
        bool broadcast = dst.IsBroadcast || IsDirectedBroadcast(dst);
        if (!broadcast && !IsOurAddress(dst))
        {
            Stats.Drop(DropReason.NotOurAddress);
            return;
        }
        if (src.IsBroadcast || src.IsMulticast)
        {
            Stats.Drop(DropReason.MalformedIp); // RFC 1122 §3.2.1.3: such a source is never valid
            return;
        }
        if (linkBroadcast && !broadcast)
        {
            Stats.Drop(DropReason.NotForUs); // RFC 1122 §3.3.6: a unicast datagram in a link-layer broadcast
            return;
        }
        p = p[..total];
        byte protocol = p[9];
        int flags = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        bool more = (flags & 0x2000) != 0;
        int offset = (flags & 0x1FFF) * 8;
        if (more || offset != 0)
        {
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
            if (!_reassembler.Add(p[..ihl], src, dst, protocol, id, offset, more, p[ihl..], _now, out var header, out var payload)) return;
            IpDeliver(new IpPacket(ifc, src, dst, protocol, broadcast, header, payload));
            return;
        }
        IpDeliver(new IpPacket(ifc, src, dst, protocol, broadcast, p[..ihl], p[ihl..]));
    }

    private void IpDeliver(in IpPacket packet)
    {
        switch (packet.Protocol)
        {
            case IpProtocol.Icmp: IcmpInput(packet); break;
            case IpProtocol.Udp: UdpInput(packet); break;
            case IpProtocol.Tcp: TcpInput(packet); break;
            default:
                Stats.Drop(DropReason.UnknownProtocol);
                SendIcmpError(packet, IcmpType.Unreachable, IcmpType.ProtocolUnreachable);
                break;
        }
    }

    /// <summary>Every option's length byte stays inside the option area (RFC 791 option formats).</summary>
    private static bool OptionsFit(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte type = options[i];
            if (type == 0) return true;        // end of option list
            if (type == 1) { i++; continue; }  // no operation
            if (i + 1 >= options.Length) return false;
            int len = options[i + 1];
            if (len < 2 || i + len > options.Length) return false;
            i += len;
        }
        return true;
    }

    private bool IsDirectedBroadcast(Ip4Address a)
    {
        foreach (var i in _interfaces)
            if (i.DirectedBroadcast == a) return true;
        return false;
    }

    public bool IsOurAddress(Ip4Address a)
    {
        foreach (var i in _interfaces)
            if (i.Address == a) return true;
        return false;
    }

    /// <summary>The interface, next hop and source address for sending to <paramref name="dst"/>.</summary>
    private bool TryRoute(Ip4Address dst, out NetInterface ifc, out Ip4Address nextHop)
    {
        if (dst.IsBroadcast && _interfaces.Count > 0)
        {
            // Limited broadcast leaves through the interface of the default route, else the first.
            ifc = _routes.TryLookup(Ip4Address.Any, out var d) ? _interfaces[d.Interface] : _interfaces[0];
            nextHop = dst;
            return true;
        }
        if (!_routes.TryLookup(dst, out var r))
        {
            ifc = null!;
            nextHop = default;
            return false;
        }
        ifc = _interfaces[r.Interface];
        nextHop = r.Gateway.IsAny ? dst : r.Gateway;
        return true;
    }

    /// <summary>The source address the engine would use toward <paramref name="dst"/>, or Any if there is no route.</summary>
    public Ip4Address SourceFor(Ip4Address dst) => TryRoute(dst, out var ifc, out _) ? ifc.Address : Ip4Address.Any;

    /// <summary>
    /// Sends the <paramref name="payloadLength"/> bytes at _tx[TxPayload..] as one IPv4 datagram,
    /// fragmenting it if it exceeds the MTU and <paramref name="dontFragment"/> is not set.
    /// </summary>
    private NetError IpOutput(Ip4Address src, Ip4Address dst, byte protocol, int payloadLength, bool dontFragment = false, byte ttl = NetLimits.DefaultTtl)
    {
        if (!TryRoute(dst, out var ifc, out var nextHop))
        {
            Stats.Drop(DropReason.NoRoute);
            return NetError.NoRoute;
        }
        if (src.IsAny) src = ifc.Address;
        int total = IpHeader + payloadLength;
        if (total > NetLimits.MaxDatagram) return NetError.MessageTooLong;
        if (total > ifc.Mtu && dontFragment)
        {
            Stats.Drop(DropReason.NeedsFragmentation);
            return NetError.MessageTooLong;
        }
        var h = _tx.AsSpan(NetLimits.EthernetHeader, IpHeader);
        h[0] = 0x45;
        h[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], ++_ipId);
        h[8] = ttl;
        h[9] = protocol;
        src.Write(h[12..]);
        dst.Write(h[16..]);
        if (total <= ifc.Mtu)
        {
            WriteLengthAndChecksum(h, total, dontFragment ? 0x4000 : 0);
            SendIpFrame(ifc, nextHop, _tx.AsSpan(0, NetLimits.EthernetHeader + total));
            return NetError.None;
        }
        // RFC 791 §3.2 fragmentation: every fragment but the last carries a multiple of 8 bytes.
        int perFragment = (ifc.Mtu - IpHeader) & ~7;
        for (int offset = 0; offset < payloadLength; offset += perFragment)
        {
            int n = Math.Min(perFragment, payloadLength - offset);
            bool more = offset + n < payloadLength;
            var f = _fragment.AsSpan(0, NetLimits.EthernetHeader + IpHeader + n);
            h.CopyTo(f[NetLimits.EthernetHeader..]);
            _tx.AsSpan(TxPayload + offset, n).CopyTo(f[TxPayload..]);
            WriteLengthAndChecksum(f.Slice(NetLimits.EthernetHeader, IpHeader), IpHeader + n, (more ? 0x2000 : 0) | (offset / 8));
            SendIpFrame(ifc, nextHop, f);
        }
        return NetError.None;
    }

    private static void WriteLengthAndChecksum(Span<byte> h, int total, int flagsAndOffset)
    {
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)total);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)flagsAndOffset);
        h[10] = h[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], Checksum.Compute(h[..IpHeader]));
    }
}
