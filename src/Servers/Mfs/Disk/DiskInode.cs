// A MINIX v2/v3 inode as stored: 64 bytes, little-endian —
//   0 u16 mode · 2 u16 nlinks · 4 u16 uid · 6 u16 gid · 8 u32 size ·
//   12 u32 atime · 16 u32 mtime · 20 u32 ctime · 24 u32 zone[10].
// zone[0..6] are direct zones, zone[7] the single, zone[8] the double and zone[9] the triple
// indirect zone; 0 is a hole. Inode n (n ≥ 1) lives at byte (n-1)·64 of the inode table.
// For a character or block special file zone[0] holds the device number.
// Rules: a DiskInode is a copy; the engine reads one, changes it, and stores it back whole.
// Nothing in it is trusted: zone numbers are checked against the zone range where used.
using System.Buffers.Binary;

namespace Bulkhead.Servers.Mfs.Disk;

public struct DiskInode
{
    public const int Size = 64;
    public const int Direct = 7;
    public const int SingleIndirect = 7;
    public const int DoubleIndirect = 8;
    public const int TripleIndirect = 9;
    public const int ZoneSlots = 10;

    public ushort Mode;
    public ushort Nlinks;
    public ushort Uid;
    public ushort Gid;
    public uint FileSize;
    public uint Atime;
    public uint Mtime;
    public uint Ctime;
    public ZoneArray Zones;

    [System.Runtime.CompilerServices.InlineArray(ZoneSlots)]
    public struct ZoneArray
    {
        private uint _first;
    }

    public readonly bool IsDirectory => (Mode & ModeBits.TypeMask) == ModeBits.Directory;
    public readonly bool IsRegular => (Mode & ModeBits.TypeMask) == ModeBits.Regular;
    public readonly bool IsSymlink => (Mode & ModeBits.TypeMask) == ModeBits.Symlink;
    /// <summary>Files whose zones hold data (directories, regular files, symbolic links).</summary>
    public readonly bool HasZones => IsDirectory || IsRegular || IsSymlink;

    public static DiskInode Read(ReadOnlySpan<byte> b)
    {
        var i = new DiskInode
        {
            Mode = BinaryPrimitives.ReadUInt16LittleEndian(b),
            Nlinks = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]),
            Uid = BinaryPrimitives.ReadUInt16LittleEndian(b[4..]),
            Gid = BinaryPrimitives.ReadUInt16LittleEndian(b[6..]),
            FileSize = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            Atime = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
            Mtime = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
            Ctime = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]),
        };
        for (int z = 0; z < ZoneSlots; z++) i.Zones[z] = BinaryPrimitives.ReadUInt32LittleEndian(b[(24 + 4 * z)..]);
        return i;
    }

    public readonly void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(b, Mode);
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], Nlinks);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], Uid);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], Gid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], FileSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], Atime);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], Mtime);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], Ctime);
        for (int z = 0; z < ZoneSlots; z++) BinaryPrimitives.WriteUInt32LittleEndian(b[(24 + 4 * z)..], Zones[z]);
    }
}
