// Inodes and zones: reading and storing an inode through the cache, allocating and freeing
// inodes and zones in the bitmaps, and the range checks every on-disk number passes first.
using System.Buffers.Binary;
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public sealed partial class MfsEngine
{
    private bool ValidInodeNumber(uint ino) => ino >= 1 && ino <= Super.Inodes;
    /// <summary>A zone number a file may point at: a data zone inside the file system.</summary>
    private bool ValidZone(uint z) => z >= Super.FirstDataZone && z < Super.Zones;

    private (long Block, int Offset) InodeLocation(uint ino)
    {
        long index = ino - 1L;
        return (Super.InodeTableStart + index / Super.InodesPerBlock, (int)(index % Super.InodesPerBlock) * DiskInode.Size);
    }

    /// <summary>Reads inode <paramref name="ino"/> as stored, whatever it holds; EIO if out of range or unreadable.</summary>
    internal MfsError ReadInode(uint ino, out DiskInode inode)
    {
        inode = default;
        if (!ValidInodeNumber(ino)) return MfsError.EIO;
        var (blk, off) = InodeLocation(ino);
        var b = Cache.Get(blk);
        if (b is null) return MfsError.EIO;
        inode = DiskInode.Read(b.Data.AsSpan(off, DiskInode.Size));
        return MfsError.None;
    }

    /// <summary>An inode a caller names: EINVAL if the number is out of range, ENOENT if it is free.</summary>
    private MfsError LoadInode(uint ino, out DiskInode inode)
    {
        inode = default;
        if (!ValidInodeNumber(ino)) return MfsError.EINVAL;
        var r = ReadInode(ino, out inode);
        if (r != MfsError.None) return r;
        if (inode.Mode == 0 || (inode.Nlinks == 0 && !_retained.ContainsKey(ino))) return MfsError.ENOENT;
        return ModeBits.IsKnownType(inode.Mode) ? MfsError.None : MfsError.EIO;
    }

    /// <summary>An inode a directory entry names: any damage (out of range, free, unknown type) is EIO.</summary>
    private MfsError LoadLinkedInode(uint ino, out DiskInode inode)
    {
        if (!ValidInodeNumber(ino))
        {
            inode = default;
            return MfsError.EIO;
        }
        var r = LoadInode(ino, out inode);
        return r == MfsError.ENOENT ? MfsError.EIO : r;
    }

    internal MfsError StoreInode(uint ino, in DiskInode inode)
    {
        var (blk, off) = InodeLocation(ino);
        var b = Cache.Get(blk);
        if (b is null) return MfsError.EIO;
        inode.Write(b.Data.AsSpan(off, DiskInode.Size));
        Cache.MarkDirty(b);
        return MfsError.None;
    }

    /// <summary>A free inode, marked in use and initialized; ENOSPC when none is left.</summary>
    private MfsError AllocInode(ushort mode, MfsCred cred, out uint ino, out DiskInode inode)
    {
        inode = default;
        ino = 0;
        long bit = _imap.Allocate();
        if (bit < 0) return MfsError.EIO;
        if (bit == 0) return MfsError.ENOSPC;
        ino = (uint)bit;
        uint now = Now;
        inode = new DiskInode { Mode = mode, Nlinks = 1, Uid = cred.Uid, Gid = cred.Gid, Atime = now, Mtime = now, Ctime = now };
        return StoreInode(ino, inode);
    }

    /// <summary>Frees the zones of an inode with no links, clears it and its bitmap bit.</summary>
    private MfsError FreeInode(uint ino, ref DiskInode inode)
    {
        var r = inode.HasZones ? FreeBlocksFrom(ref inode, 0) : MfsError.None;
        inode = default;
        var w = StoreInode(ino, inode);
        bool freed = _imap.Free(ino);
        if (r != MfsError.None) return r;
        if (w != MfsError.None) return w;
        return freed ? MfsError.None : MfsError.EIO;
    }

    /// <summary>A free zone, marked in use; zeroed in the cache when <paramref name="zero"/>.</summary>
    private MfsError AllocZone(bool zero, out uint zone)
    {
        zone = 0;
        long bit = _zmap.Allocate();
        if (bit < 0) return MfsError.EIO;
        if (bit == 0) return MfsError.ENOSPC;
        zone = (uint)(Super.FirstDataZone - 1 + bit);
        if (!zero) return MfsError.None;
        var b = Cache.GetForOverwrite(zone);
        if (b is null) return MfsError.EIO;
        Array.Clear(b.Data);
        Cache.MarkDirty(b);
        return MfsError.None;
    }

    private MfsError FreeZone(uint zone)
    {
        if (!ValidZone(zone)) return MfsError.EIO;
        Cache.Invalidate(zone);
        return _zmap.Free(zone - Super.FirstDataZone + 1L) ? MfsError.None : MfsError.EIO;
    }

    private static uint Pointer(byte[] block, int index) => BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(index * 4));
    private static void SetPointer(byte[] block, int index, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(index * 4), value);

    /// <summary>Changes the link count of a live inode by <paramref name="delta"/> and stamps ctime.</summary>
    private MfsError AdjustLinks(uint ino, int delta)
    {
        var r = ReadInode(ino, out var i);
        if (r != MfsError.None) return r;
        int n = i.Nlinks + delta;
        if (n < 0 || n > ushort.MaxValue) return MfsError.EIO;
        i.Nlinks = (ushort)n;
        i.Ctime = Now;
        return StoreInode(ino, i);
    }

    /// <summary>One link fewer; an inode left with none, and not held open, is freed.</summary>
    private MfsError DropLink(uint ino)
    {
        var r = ReadInode(ino, out var i);
        if (r != MfsError.None) return r;
        if (i.Nlinks == 0) return MfsError.EIO;
        i.Nlinks--;
        i.Ctime = Now;
        if (i.Nlinks == 0 && !_retained.ContainsKey(ino)) return FreeInode(ino, ref i);
        return StoreInode(ino, i);
    }
}
