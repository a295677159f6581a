// Hand-built frames for tests: Ethernet/IPv4/ICMP/UDP/TCP written field by field (not with the
// engine's code), so that a test states the wire format it expects on its own.
using System.Buffers.Binary;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

internal static class Frames
{
    public static byte[] Ethernet(MacAddress dst, MacAddress src, int type, ReadOnlySpan<byte> payload)
    {
        var f = new byte[14 + payload.Length];
        dst.Write(f);
        src.Write(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), (ushort)type);
        payload.CopyTo(f.AsSpan(14));
        return f;
    }

    public static byte[] Ip(Ip4Address src, Ip4Address dst, byte protocol, ReadOnlySpan<byte> payload,
        ushort id = 1, int flagsOffset = 0, byte ttl = 64, byte[]? options = null)
    {
        int ihl = 20 + (options?.Length ?? 0);
        var p = new byte[ihl + payload.Length];
        p[0] = (byte)(0x40 | (ihl / 4));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), (ushort)flagsOffset);
        p[8] = ttl;
        p[9] = protocol;
        src.Write(p.AsSpan(12));
        dst.Write(p.AsSpan(16));
        options?.CopyTo(p, 20);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum.Compute(p.AsSpan(0, ihl)));
        payload.CopyTo(p.AsSpan(ihl));
        return p;
    }

    public static byte[] Udp(Ip4Address src, Ip4Address dst, ushort sport, ushort dport, ReadOnlySpan<byte> data, bool checksum = true)
    {
        var u = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(u, sport);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        data.CopyTo(u.AsSpan(8));
        if (checksum)
        {
            ushort c = Checksum.Finish(Checksum.Sum(u, Checksum.PseudoHeader(src.Value, dst.Value, 17, u.Length)));
            BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(6), c == 0 ? (ushort)0xFFFF : c);
        }
        return u;
    }

    public static byte[] Icmp(byte type, byte code, ushort id, ushort seq, ReadOnlySpan<byte> data)
    {
        var m = new byte[8 + data.Length];
        m[0] = type;
        m[1] = code;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(6), seq);
        data.CopyTo(m.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), Checksum.Compute(m));
        return m;
    }

    public static byte[] Tcp(Ip4Address src, Ip4Address dst, ushort sport, ushort dport, uint seq, uint ack, byte flags,
        ushort window = 65535, ReadOnlySpan<byte> data = default, byte[]? options = null)
    {
        int hl = 20 + (options?.Length ?? 0);
        var t = new byte[hl + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(t, sport);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), ack);
        t[12] = (byte)(hl / 4 << 4);
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), window);
        options?.CopyTo(t, 20);
        data.CopyTo(t.AsSpan(hl));
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(16), Checksum.Finish(Checksum.Sum(t, Checksum.PseudoHeader(src.Value, dst.Value, 6, t.Length))));
        return t;
    }

    /// <summary>A whole Ethernet frame from <paramref name="srcMac"/> to <paramref name="dstMac"/> carrying an IPv4 datagram.</summary>
    public static byte[] IpFrame(MacAddress dstMac, MacAddress srcMac, Ip4Address src, Ip4Address dst, byte protocol, ReadOnlySpan<byte> payload) =>
        Ethernet(dstMac, srcMac, 0x0800, Ip(src, dst, protocol, payload));

    public static byte[] Arp(int op, MacAddress senderMac, Ip4Address senderIp, MacAddress targetMac, Ip4Address targetIp, MacAddress ethDst)
    {
        var p = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(p, 1);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), 0x0800);
        p[4] = 6;
        p[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), (ushort)op);
        senderMac.Write(p.AsSpan(8));
        senderIp.Write(p.AsSpan(14));
        targetMac.Write(p.AsSpan(18));
        targetIp.Write(p.AsSpan(24));
        return Ethernet(ethDst, senderMac, 0x0806, p);
    }

    public static int EtherTypeOf(byte[] f) => (f[12] << 8) | f[13];
    public static byte IpProtocolOf(byte[] f) => f[14 + 9];
    public static int ArpOp(byte[] f) => (f[20] << 8) | f[21];
    public static Ip4Address ArpTarget(byte[] f) => Ip4Address.Read(f.AsSpan(14 + 24));
    public static Ip4Address ArpSender(byte[] f) => Ip4Address.Read(f.AsSpan(14 + 14));
}
