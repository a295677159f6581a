// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit
// big-endian words, used by the IPv4 header, ICMP, UDP and TCP. Sum folds a span into a running
// 32-bit partial sum (so a pseudo-header and a payload can be summed piecewise); Finish folds the
// carries and complements. A span of odd length is padded with a zero byte at its end, so only
// the last piece of a checksum may have odd length. Allocation-free; reads 8 bytes at a time.
using System.Buffers.Binary;

namespace Bulkhead.Servers.Inet.Wire;

public static class Checksum
{
    /// <summary>Adds <paramref name="data"/> to <paramref name="sum"/> (a partial sum, not yet folded).</summary>
    public static ulong Sum(ReadOnlySpan<byte> data, ulong sum = 0)
    {
        int i = 0;
        // Big-endian 32-bit words summed into 64 bits cannot overflow for any frame we handle.
        for (; i + 4 <= data.Length; i += 4) sum += BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
        if (i + 2 <= data.Length)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
            i += 2;
        }
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    /// <summary>The partial sum of the TCP/UDP pseudo-header (RFC 793 §3.1, RFC 768).</summary>
    public static ulong PseudoHeader(uint source, uint destination, byte protocol, int length) =>
        (ulong)source + destination + protocol + (uint)length;

    /// <summary>Folds a partial sum to 16 bits and complements it: the value to put in a header.</summary>
    public static ushort Finish(ulong sum)
    {
        while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>The checksum of <paramref name="data"/> alone (IPv4 header, ICMP message).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Sum(data));
}
