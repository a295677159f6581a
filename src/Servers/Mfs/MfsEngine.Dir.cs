// Directory slots: scanning the 64-byte entries of a directory, finding a name, adding an entry
// (in the first free slot, or appended, growing the directory by a block when it must),
// clearing one, and the emptiness test of rmdir. MINIX never shrinks a directory: a removed
// entry leaves a free slot (inode 0) for the next one.
// Rules: a directory's size must be a multiple of 64 (else EIO); holes in a directory are
// skipped as free slots; names are compared as bytes. The visitor of ScanDir runs with a cache
// block in hand, so it must not call into the cache.
using System.Text;
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public sealed partial class MfsEngine
{
    /// <summary>Return true to stop the scan.</summary>
    private delegate bool SlotVisitor(ReadOnlySpan<byte> entry, long offset);

    private MfsError ScanDir(in DiskInode dir, long fromOffset, SlotVisitor visit)
    {
        if (dir.FileSize % DirEntryLayout.Size != 0) return MfsError.EIO;
        long size = dir.FileSize;
        for (long blockStart = fromOffset / BlockSize * BlockSize; blockStart < size; blockStart += BlockSize)
        {
            long fblock = blockStart / BlockSize;
            if (fblock >= DiskInode.Direct && dir.Zones[DiskInode.SingleIndirect] == 0 && dir.Zones[DiskInode.DoubleIndirect] == 0 && dir.Zones[DiskInode.TripleIndirect] == 0)
                break; // the rest is one hole (a damaged size must not make us walk it)
            var r = MapBlock(dir, fblock, out uint zone);
            if (r != MfsError.None) return r;
            if (zone == 0) continue;
            var b = Cache.Get(zone);
            if (b is null) return MfsError.EIO;
            long end = Math.Min(size - blockStart, BlockSize);
            for (long off = Math.Max(0, fromOffset - blockStart); off < end; off += DirEntryLayout.Size)
                if (visit(b.Data.AsSpan((int)off, DirEntryLayout.Size), blockStart + off)) return MfsError.None;
        }
        return MfsError.None;
    }

    /// <summary>The inode and slot offset of <paramref name="name"/> in <paramref name="dir"/>; ENOENT if absent.</summary>
    private MfsError FindEntry(in DiskInode dir, ReadOnlySpan<byte> name, out uint ino, out long offset)
    {
        uint found = 0;
        long at = -1;
        var key = name.ToArray();
        var r = ScanDir(dir, 0, (e, off) =>
        {
            uint n = DirEntryLayout.InodeOf(e);
            if (n == 0 || !DirEntryLayout.NameOf(e).SequenceEqual(key)) return false;
            found = n;
            at = off;
            return true;
        });
        ino = found;
        offset = at;
        if (r != MfsError.None) return r;
        return found == 0 ? MfsError.ENOENT : MfsError.None;
    }

    /// <summary>Adds <paramref name="name"/> → <paramref name="ino"/> to directory <paramref name="dirIno"/>.</summary>
    private MfsError AddEntry(uint dirIno, ReadOnlySpan<byte> name, uint ino)
    {
        var r = ReadInode(dirIno, out var dir);
        if (r != MfsError.None) return r;
        long free = -1;
        r = ScanDir(dir, 0, (e, off) =>
        {
            if (DirEntryLayout.InodeOf(e) != 0) return false;
            free = off;
            return true;
        });
        if (r != MfsError.None) return r;
        if (free < 0)
        {
            // Holes are free slots too: the first one below the size, else the end.
            for (long blk = 0; blk * BlockSize < dir.FileSize && free < 0; blk++)
            {
                r = MapBlock(dir, blk, out uint z);
                if (r != MfsError.None) return r;
                if (z == 0) free = blk * BlockSize;
            }
            if (free < 0) free = dir.FileSize;
        }
        if (free + DirEntryLayout.Size > MaxFileSize) return MfsError.ENOSPC;
        r = MapBlockForWrite(ref dir, free / BlockSize, out uint zone, out bool fresh);
        if (r == MfsError.None)
        {
            var b = fresh ? Cache.GetForOverwrite(zone) : Cache.Get(zone);
            if (b is null) r = MfsError.EIO;
            else
            {
                if (fresh) Array.Clear(b.Data);
                DirEntryLayout.Write(b.Data.AsSpan((int)(free % BlockSize), DirEntryLayout.Size), ino, name);
                Cache.MarkDirty(b);
                if (free + DirEntryLayout.Size > dir.FileSize) dir.FileSize = (uint)(free + DirEntryLayout.Size);
                dir.Mtime = dir.Ctime = Now;
            }
        }
        var w = StoreInode(dirIno, dir);
        return r != MfsError.None ? r : w;
    }

    /// <summary>Points the slot at <paramref name="offset"/> of <paramref name="dirIno"/> at <paramref name="ino"/> (0 clears it).</summary>
    private MfsError SetEntry(uint dirIno, long offset, uint ino)
    {
        var r = ReadInode(dirIno, out var dir);
        if (r != MfsError.None) return r;
        r = MapBlock(dir, offset / BlockSize, out uint zone);
        if (r != MfsError.None) return r;
        if (zone == 0) return MfsError.EIO;
        var b = Cache.Get(zone);
        if (b is null) return MfsError.EIO;
        DirEntryLayout.SetInode(b.Data.AsSpan((int)(offset % BlockSize)), ino);
        Cache.MarkDirty(b);
        dir.Mtime = dir.Ctime = Now;
        return StoreInode(dirIno, dir);
    }

    /// <summary>Whether <paramref name="dir"/> holds nothing but "." and "..".</summary>
    private MfsError IsEmptyDir(in DiskInode dir, out bool empty)
    {
        bool other = false;
        var r = ScanDir(dir, 0, (e, _) =>
        {
            if (DirEntryLayout.InodeOf(e) == 0) return false;
            var n = DirEntryLayout.NameOf(e);
            if (n.SequenceEqual("."u8) || n.SequenceEqual(".."u8)) return false;
            other = true;
            return true;
        });
        empty = !other;
        return r;
    }

    /// <summary>A name a caller gives for a new or existing entry, as bytes; ENAMETOOLONG over 60
    /// bytes, EINVAL with a '/' or NUL, ENOENT if empty.</summary>
    private static MfsError CheckName(string name, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(name)) return MfsError.ENOENT;
        if (name.Contains('/') || name.Contains('\0')) return MfsError.EINVAL;
        bytes = Encoding.UTF8.GetBytes(name);
        return bytes.Length > DirEntryLayout.NameMax ? MfsError.ENAMETOOLONG : MfsError.None;
    }

    private static bool IsDotOrDotDot(string name) => name is "." or "..";
}
