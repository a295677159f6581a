// The primary partition table of a PC disk (the master boot record in sector 0): four 16-byte
// entries at byte 446 — boot flag (0x00 or 0x80), CHS start, type (0 = unused), CHS end, LBA
// start and sector count (little endian) — and the signature 0x55 0xAA at byte 510.
// Rules: the sector comes from the disk and is not trusted. A table that is malformed in any
// way (no signature, a bad boot flag, an entry that is empty of sectors or starts at sector 0,
// runs past the end of the disk, or overlaps another) gives no partitions at all; parsing never
// throws. Extended partitions are presented as they are (their logical partitions are not read).
using System.Buffers.Binary;

namespace Bulkhead.Drivers.Block;

public static class MbrTable
{
    public const int TableOffset = 446, EntrySize = 16, SignatureOffset = 510;

    /// <summary>One partition: first sector and number of sectors.</summary>
    public readonly record struct Partition(long Start, long Sectors);

    /// <summary>The partitions of <paramref name="sector0"/> (entry i at index i; unused
    /// entries are (0, 0)); all (0, 0) when the table is malformed.</summary>
    public static Partition[] Parse(ReadOnlySpan<byte> sector0, long diskSectors)
    {
        var parts = new Partition[Bulkhead.Lib.Block.BlockDriverCall.Partitions];
        if (sector0.Length < 512 || sector0[SignatureOffset] != 0x55 || sector0[SignatureOffset + 1] != 0xAA) return parts;
        for (int i = 0; i < parts.Length; i++)
        {
            var e = sector0.Slice(TableOffset + i * EntrySize, EntrySize);
            byte type = e[4];
            if (e[0] is not (0x00 or 0x80)) return new Partition[parts.Length];
            if (type == 0) continue;
            long start = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]);
            long count = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
            if (start == 0 || count == 0 || start + count > diskSectors) return new Partition[parts.Length];
            parts[i] = new Partition(start, count);
        }
        for (int i = 0; i < parts.Length; i++)
            for (int j = i + 1; j < parts.Length; j++)
                if (parts[i].Sectors > 0 && parts[j].Sectors > 0
                    && parts[i].Start < parts[j].Start + parts[j].Sectors && parts[j].Start < parts[i].Start + parts[i].Sectors)
                    return new Partition[parts.Length];
        return parts;
    }
}
