// The test data of the block-client tests: byte p of a disk filled with seed s is a function of
// (p, s) alone, so a range can be written in any chunking and checked anywhere (the tests compute
// the same bytes on the host: tests/Drivers.Tests/Block/BlockKit.cs, DiskPattern).
namespace Bulkhead.TestComponents;

internal static class BlockPattern
{
    /// <summary>Fills <paramref name="span"/> with the pattern of seed <paramref name="seed"/> from byte <paramref name="position"/>.</summary>
    public static void Fill(Span<byte> span, long position, int seed)
    {
        for (int i = 0; i < span.Length; i++)
        {
            long p = position + i;
            ulong x = (ulong)(p >> 3) * 0x9E3779B97F4A7C15UL + (ulong)(uint)seed * 0xD1B54A32D192ED03UL;
            x ^= x >> 29;
            x *= 0xBF58476D1CE4E5B9UL;
            x ^= x >> 32;
            span[i] = (byte)(x >> (int)((p & 7) * 8));
        }
    }
}
