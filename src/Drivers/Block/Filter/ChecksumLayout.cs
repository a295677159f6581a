// Where the filter driver keeps its checksums on a device (thesis §4.4, Fig. 4.8): after every
// N data sectors, one checksum sector. The file system sees only the data sectors, as a smaller
// virtual disk of whole groups (a partial group at the end of the device is not used).
// A checksum sector holds 128 little-endian 32-bit slots: slot i (i < N) is the CRC-32C of data
// sector i of its group, seeded with that sector's physical number, so a sector that is whole
// but in the wrong place fails too; slot 127 is the CRC-32C of slots 0..126 seeded with the
// checksum sector's own number, so a damaged checksum sector is told from damaged data. An
// all-zero checksum sector is never valid: a driver that answers with zeros (or without moving
// any data) must not pass for a group that was never written, so the filter formats a new
// device — every group zeros with a sealed checksum sector — before it serves it (FilterDevice
// .Format). CRC-32C because the
// CPU computes it (SSE 4.2, BitOperations.Crc32C: 8 bytes per instruction) and it finds every
// burst of up to 32 flipped bits; docs/filter.md has the measurement.
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Bulkhead.Drivers.Block.Filter;

public readonly struct ChecksumLayout
{
    public const int SectorSize = 512;
    public const int Slots = SectorSize / 4;
    /// <summary>Data sectors per group at most: one slot is the checksum sector's own.</summary>
    public const int MaxGroup = Slots - 1;

    /// <summary>Data sectors per checksum sector; 0: no checksums, virtual = physical.</summary>
    public int N { get; }

    public ChecksumLayout(int n)
    {
        if (n is < 0 or > MaxGroup) throw new ArgumentOutOfRangeException(nameof(n));
        N = n;
    }

    public bool Enabled => N > 0;

    /// <summary>Virtual sectors of a device of <paramref name="physicalSectors"/>.</summary>
    public long VirtualSectors(long physicalSectors) => Enabled ? physicalSectors / (N + 1) * N : physicalSectors;

    /// <summary>Physical sector of virtual sector <paramref name="v"/>.</summary>
    public long DataSector(long v) => Enabled ? v / N * (N + 1) + v % N : v;

    /// <summary>Physical sector of the checksum sector of virtual sector <paramref name="v"/>'s group.</summary>
    public long ChecksumSector(long v) => v / N * (N + 1) + N;

    /// <summary>The checksum of data sector <paramref name="data"/> at physical sector <paramref name="physical"/>.</summary>
    public static uint Sum(ReadOnlySpan<byte> data, long physical)
    {
        uint crc = ~(uint)physical ^ (uint)(physical >> 32);
        int whole = data.Length & ~7;
        foreach (ulong w in MemoryMarshal.Cast<byte, ulong>(data[..whole])) crc = BitOperations.Crc32C(crc, w);
        foreach (byte b in data[whole..]) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    public static uint Slot(ReadOnlySpan<byte> checksumSector, int i) => BinaryPrimitives.ReadUInt32LittleEndian(checksumSector[(i * 4)..]);

    public static void SetSlot(Span<byte> checksumSector, int i, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(checksumSector[(i * 4)..], value);

    /// <summary>Seals a checksum sector at <paramref name="physical"/>: its own slot over the others.</summary>
    public static void Seal(Span<byte> checksumSector, long physical) =>
        SetSlot(checksumSector, MaxGroup, Sum(checksumSector[..(MaxGroup * 4)], physical));

    /// <summary>A checksum sector that was never written (all zeros): not formatted.</summary>
    public static bool Blank(ReadOnlySpan<byte> checksumSector) => !checksumSector.ContainsAnyExcept((byte)0);

    /// <summary>True when the checksum sector at <paramref name="physical"/> is sealed (never when blank).</summary>
    public static bool SealIntact(ReadOnlySpan<byte> checksumSector, long physical) =>
        !Blank(checksumSector) && Slot(checksumSector, MaxGroup) == Sum(checksumSector[..(MaxGroup * 4)], physical);

    /// <summary>True when data sector <paramref name="data"/>, slot <paramref name="slot"/> of a
    /// sealed checksum sector, is what was written at <paramref name="physical"/>.</summary>
    public static bool Verify(ReadOnlySpan<byte> checksumSector, int slot, ReadOnlySpan<byte> data, long physical) =>
        Slot(checksumSector, slot) == Sum(data, physical);

    /// <summary>Fills <paramref name="group"/> (N data sectors and the checksum sector) for group
    /// <paramref name="g"/> of a new device: zeros, and their checksums sealed.</summary>
    public void FormatGroup(long g, Span<byte> group)
    {
        group.Clear();
        var ck = group.Slice(N * SectorSize, SectorSize);
        long first = g * (N + 1);
        for (int i = 0; i < N; i++) SetSlot(ck, i, Sum(group.Slice(i * SectorSize, SectorSize), first + i));
        Seal(ck, first + N);
    }
}
