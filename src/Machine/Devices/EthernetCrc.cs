// The two CRC-32 forms an Ethernet controller needs (shared by the NE2000 and RTL8139 models):
// the frame check sequence a card stores after a received frame (IEEE 802.3, reflected,
// complemented, least significant byte first) and the CRC of a destination address, taken in
// wire bit order and not complemented, whose top six bits pick one of the 64 bits of the
// multicast hash filter (MAR[index >> 3], bit index & 7).
namespace Bulkhead.Machine.Devices;

internal static class EthernetCrc
{
    private static readonly uint[] Table = BuildTable();

    public static uint Fcs(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>Bit index 0–63 in the multicast filter for destination <paramref name="mac"/>.</summary>
    public static int MulticastIndex(ReadOnlySpan<byte> mac)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b0 in mac)
        {
            int b = b0;
            for (int i = 0; i < 8; i++, b >>= 1)
                crc = ((crc >> 31) ^ (uint)(b & 1)) != 0 ? (crc << 1) ^ 0x04C11DB7 : crc << 1;
        }
        return (int)(crc >> 26);
    }

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }
}
