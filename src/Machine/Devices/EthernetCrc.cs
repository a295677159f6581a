// The two CRC-32 forms an Ethernet controller needs: the frame check sequence (IEEE 802.3,
// reflected, stored least significant byte first) and the big-endian CRC whose top six bits
// index the 64-bit multicast hash filter (MAR0–7).
namespace Bulkhead.Machine.Devices.Rtl8139;

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
