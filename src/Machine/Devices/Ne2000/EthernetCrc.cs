// The Ethernet CRC-32 in the two forms the DP8390 uses: the frame check sequence it stores
// after a received frame (the reflected CRC, complemented, least significant byte first), and
// the multicast hash index (the top 6 bits of the CRC of the destination address, shifted in
// the order the bits arrive on the wire and not complemented), which picks one of the 64 MAR
// bits: MAR[index >> 3], bit index & 7.
namespace Bulkhead.Machine.Devices.Ne2000;

internal static class EthernetCrc
{
    /// <summary>The FCS of <paramref name="frame"/> as the four bytes sent after it.</summary>
    public static uint Fcs(ReadOnlySpan<byte> frame)
    {
        uint crc = 0xFFFF_FFFF;
        foreach (byte b in frame)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>The MAR bit (0–63) that lets the multicast address <paramref name="destination"/> in.</summary>
    public static int MulticastIndex(ReadOnlySpan<byte> destination)
    {
        uint crc = 0xFFFF_FFFF;
        foreach (byte value in destination)
        {
            int b = value;
            for (int bit = 0; bit < 8; bit++, b >>= 1)
            {
                bool carry = ((crc >> 31) ^ (uint)(b & 1)) != 0;
                crc <<= 1;
                if (carry) crc ^= 0x04C1_1DB7;
            }
        }
        return (int)(crc >> 26);
    }
}
