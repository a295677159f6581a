// A received TCP segment, parsed and checked (header length, option lengths): what the state
// machine needs from it. Payload is a span into the frame, valid during the input call.
using System.Buffers.Binary;

namespace Bulkhead.Servers.Inet.Tcp;

internal ref struct TcpSegment
{
    public const int Header = 20;

    public ushort SourcePort;
    public ushort DestinationPort;
    public uint Seq;
    public uint Ack;
    public TcpFlags Flags;
    public ushort Window;
    public ReadOnlySpan<byte> Payload;
    public int Mss;          // 0: option absent
    public int WindowScale;  // -1: option absent
    public bool HasTimestamp;
    public bool SackPermitted;
    public uint TsVal;
    public uint TsEcr;

    public readonly bool Has(TcpFlags f) => (Flags & f) != 0;

    /// <summary>Sequence space the segment occupies: data, plus one each for SYN and FIN.</summary>
    public readonly int Length => Payload.Length + (Has(TcpFlags.Syn) ? 1 : 0) + (Has(TcpFlags.Fin) ? 1 : 0);

    /// <summary>Parses a segment whose checksum was verified; the DropReason if it is malformed.</summary>
    public static DropReason? TryParse(ReadOnlySpan<byte> p, out TcpSegment s)
    {
        s = default;
        if (p.Length < Header) return DropReason.MalformedTcp;
        int offset = (p[12] >> 4) * 4;
        if (offset < Header || offset > p.Length) return DropReason.MalformedTcp;
        s.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(p);
        s.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        s.Seq = BinaryPrimitives.ReadUInt32BigEndian(p[4..]);
        s.Ack = BinaryPrimitives.ReadUInt32BigEndian(p[8..]);
        s.Flags = (TcpFlags)(p[13] & 0x3F);
        s.Window = BinaryPrimitives.ReadUInt16BigEndian(p[14..]);
        s.Payload = p[offset..];
        s.WindowScale = -1;
        var o = p[Header..offset];
        int i = 0;
        while (i < o.Length)
        {
            byte kind = o[i];
            if (kind == 0) break;
            if (kind == 1)
            {
                i++;
                continue;
            }
            if (i + 1 >= o.Length) return DropReason.TcpOptionsPastHeader;
            int len = o[i + 1];
            if (len < 2 || i + len > o.Length) return DropReason.TcpOptionsPastHeader;
            var v = o.Slice(i + 2, len - 2);
            switch (kind)
            {
                case 2 when len == 4: s.Mss = BinaryPrimitives.ReadUInt16BigEndian(v); break;
                case 3 when len == 3: s.WindowScale = Math.Min((int)v[0], 14); break; // RFC 7323 §2.3: at most 14
                case 4 when len == 2: s.SackPermitted = true; break; // RFC 2018 §2
                case 8 when len == 10:
                    s.HasTimestamp = true;
                    s.TsVal = BinaryPrimitives.ReadUInt32BigEndian(v);
                    s.TsEcr = BinaryPrimitives.ReadUInt32BigEndian(v[4..]);
                    break;
            }
            i += len;
        }
        return null;
    }
}
