// The MINIX v3 superblock: 32 bytes at byte 1024 of the device, little-endian, whatever the
// block size (so with 4 KiB blocks it lies inside block 0). Fields, by offset:
//   0 u32 ninodes · 6 u16 imap_blocks · 8 u16 zmap_blocks · 10 u16 firstdatazone ·
//   12 u16 log_zone_size · 16 u32 max_size · 20 u32 zones · 24 u16 magic (0x4d5a) ·
//   28 u16 block_size · 30 u8 disk_version (4, 14 and 26 are padding).
// `zones` counts every block of the file system, the boot block and metadata included. The
// layout it describes: boot block 0, superblock, inode bitmap from block 2, zone bitmap after
// it, the inode table (64-byte inodes, inode 1 first), then data zones from firstdatazone.
// Rules: TryParse checks every field against the others and against the device size, and
// answers a sentence naming the first bad field; nothing derived from a superblock is used
// before TryParse accepted it. Only log_zone_size 0 (a zone is one block) is supported.
using System.Buffers.Binary;

namespace Bulkhead.Servers.Mfs.Disk;

public sealed record Superblock
{
    public const int Offset = 1024;
    public const int Length = 32;
    public const ushort MagicV3 = 0x4d5a;
    /// <summary>First block of the inode bitmap, for every block size.</summary>
    public const int MapStart = 2;

    public uint Inodes { get; init; }
    public ushort ImapBlocks { get; init; }
    public ushort ZmapBlocks { get; init; }
    public ushort FirstDataZone { get; init; }
    public ushort LogZoneSize { get; init; }
    public uint MaxSize { get; init; }
    public uint Zones { get; init; }
    public ushort Magic { get; init; } = MagicV3;
    public ushort BlockSize { get; init; }
    public byte DiskVersion { get; init; }

    public int InodesPerBlock => BlockSize / DiskInode.Size;
    public long InodeTableStart => MapStart + ImapBlocks + ZmapBlocks;
    public long InodeTableBlocks => (Inodes + (long)InodesPerBlock - 1) / InodesPerBlock;
    /// <summary>Bits of the zone bitmap that stand for zones: bit b is zone FirstDataZone - 1 + b, b ≥ 1.</summary>
    public long DataZones => Zones - FirstDataZone;
    public int BitsPerBlock => BlockSize * 8;

    public static bool IsSupportedBlockSize(int size) => size is 1024 or 4096;

    public static Superblock Read(ReadOnlySpan<byte> b) => new()
    {
        Inodes = BinaryPrimitives.ReadUInt32LittleEndian(b),
        ImapBlocks = BinaryPrimitives.ReadUInt16LittleEndian(b[6..]),
        ZmapBlocks = BinaryPrimitives.ReadUInt16LittleEndian(b[8..]),
        FirstDataZone = BinaryPrimitives.ReadUInt16LittleEndian(b[10..]),
        LogZoneSize = BinaryPrimitives.ReadUInt16LittleEndian(b[12..]),
        MaxSize = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
        Zones = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]),
        Magic = BinaryPrimitives.ReadUInt16LittleEndian(b[24..]),
        BlockSize = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]),
        DiskVersion = b[30],
    };

    public void Write(Span<byte> b)
    {
        b[..Length].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, Inodes);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], ImapBlocks);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], ZmapBlocks);
        BinaryPrimitives.WriteUInt16LittleEndian(b[10..], FirstDataZone);
        BinaryPrimitives.WriteUInt16LittleEndian(b[12..], LogZoneSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], MaxSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], Zones);
        BinaryPrimitives.WriteUInt16LittleEndian(b[24..], Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(b[28..], BlockSize);
        b[30] = DiskVersion;
    }

    /// <summary>Null if this superblock describes a file system that fits on a device of
    /// <paramref name="deviceSize"/> bytes; otherwise why not.</summary>
    public string? Validate(long deviceSize)
    {
        if (Magic != MagicV3) return $"bad magic 0x{Magic:x4} (a MINIX v3 file system has 0x{MagicV3:x4})";
        if (!IsSupportedBlockSize(BlockSize)) return $"block size {BlockSize} is not supported (1024 or 4096)";
        if (LogZoneSize != 0) return $"log_zone_size {LogZoneSize}: zones of several blocks are not supported";
        if (Inodes == 0 || Inodes == uint.MaxValue) return $"bad inode count {Inodes}";
        if (Zones == 0) return "zone count is 0";
        long deviceBlocks = deviceSize / BlockSize;
        if (Zones > deviceBlocks) return $"{Zones} zones of {BlockSize} bytes do not fit a device of {deviceSize} bytes";
        if ((long)ImapBlocks * BitsPerBlock < Inodes + 1L) return $"{ImapBlocks} inode bitmap blocks cannot map {Inodes} inodes";
        long minFirst = InodeTableStart + InodeTableBlocks;
        if (FirstDataZone < minFirst) return $"first data zone {FirstDataZone} lies inside the metadata (ends at block {minFirst})";
        if (FirstDataZone >= Zones) return $"first data zone {FirstDataZone} is not below the zone count {Zones}";
        if ((long)ZmapBlocks * BitsPerBlock < DataZones + 1) return $"{ZmapBlocks} zone bitmap blocks cannot map {DataZones} data zones";
        if (MaxSize < 2 * DirEntryLayout.Size) return $"maximum file size {MaxSize} is too small";
        return null;
    }
}
