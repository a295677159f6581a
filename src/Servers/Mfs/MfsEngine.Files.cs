// File calls: lookup of one name, create (regular and special files), read and write at an
// offset (writes extend the file and may leave holes), truncate, link, unlink, symlink and
// readlink. Each checks every argument and permission first, then changes the disk.
using System.Text;
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public sealed partial class MfsEngine
{
    private int _readAheadIno;
    private long _readAheadNext = -1;

    /// <summary>The inode of <paramref name="name"/> in directory <paramref name="dir"/> (no symlink following).</summary>
    public MfsError Lookup(uint dir, string name, MfsCred cred, out uint ino)
    {
        ino = 0;
        var r = Step(dir, name, cred, out uint found, out _);
        if (r == MfsError.None) ino = found;
        return r;
    }

    /// <summary>A checked directory a caller wants to add to or remove from: a live directory
    /// the caller may write and search.</summary>
    private MfsError WritableDir(uint dir, MfsCred cred, out DiskInode d)
    {
        var r = LoadInode(dir, out d);
        if (r != MfsError.None) return r;
        if (!d.IsDirectory) return MfsError.ENOTDIR;
        if (d.Nlinks == 0) return MfsError.ENOENT;
        if (!MfsAccess.Allowed(d, cred, ModeBits.Write | ModeBits.Execute)) return MfsError.EACCES;
        return ReadOnly ? MfsError.EROFS : MfsError.None;
    }

    /// <summary>The checks of every call that adds <paramref name="name"/> to <paramref name="dir"/>.</summary>
    private MfsError CheckNewEntry(uint dir, string name, MfsCred cred, out byte[] bytes)
    {
        var r = CheckName(name, out bytes);
        if (r != MfsError.None) return r;
        r = WritableDir(dir, cred, out var d);
        if (r != MfsError.None) return r;
        if (IsDotOrDotDot(name)) return MfsError.EEXIST;
        r = FindEntry(d, bytes, out _, out _);
        return r switch
        {
            MfsError.None => MfsError.EEXIST,
            MfsError.ENOENT => MfsError.None,
            _ => r,
        };
    }

    /// <summary>Creates a regular file (or, with a type in <paramref name="mode"/>, a device
    /// file, FIFO or socket; <paramref name="rdev"/> is a device's number).</summary>
    public MfsError Create(uint dir, string name, ushort mode, MfsCred cred, out uint ino, uint rdev = 0)
    {
        ino = 0;
        ushort type = (ushort)(mode & ModeBits.TypeMask);
        if (type == 0) type = ModeBits.Regular;
        if (type is ModeBits.Directory or ModeBits.Symlink || !ModeBits.IsKnownType(type)) return MfsError.EINVAL;
        var r = CheckNewEntry(dir, name, cred, out var bytes);
        if (r != MfsError.None) return r;
        uint zone0 = type is ModeBits.CharDevice or ModeBits.BlockDevice ? rdev : 0;
        return MakeNode(dir, bytes, (ushort)(type | (mode & ModeBits.PermissionMask)), cred, 1, 0, null, zone0, out ino);
    }

    /// <summary>Fills the first block of a new inode numbered <paramref name="ino"/>.</summary>
    private delegate void BlockFiller(Span<byte> block, uint ino);

    /// <summary>Allocates an inode (with its first data block filled by <paramref name="fill"/>,
    /// or zone[0] = <paramref name="zone0"/> for a device) and enters it in <paramref name="dir"/>;
    /// on any failure the inode and its block are freed again.</summary>
    private MfsError MakeNode(uint dir, byte[] name, ushort mode, MfsCred cred, ushort nlinks, uint size, BlockFiller? fill, uint zone0, out uint ino)
    {
        ino = 0;
        var r = AllocInode(mode, cred, out uint n, out var inode);
        if (r != MfsError.None) return r;
        inode.Nlinks = nlinks;
        inode.FileSize = size;
        inode.Zones[0] = zone0;
        if (fill is not null)
        {
            r = MapBlockForWrite(ref inode, 0, out uint zone, out _);
            var b = r == MfsError.None ? Cache.GetForOverwrite(zone) : null;
            if (b is not null)
            {
                Array.Clear(b.Data);
                fill(b.Data, n);
                Cache.MarkDirty(b);
            }
            else if (r == MfsError.None) r = MfsError.EIO;
        }
        if (r == MfsError.None) r = StoreInode(n, inode);
        if (r == MfsError.None) r = AddEntry(dir, name, n);
        if (r != MfsError.None)
        {
            if (fill is null) inode.Zones[0] = 0;
            FreeInode(n, ref inode);
            return r;
        }
        ino = n;
        return MfsError.None;
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="position"/>; holes read as zeros.</summary>
    public MfsError Read(uint ino, long position, Span<byte> buffer, out int count)
    {
        count = 0;
        if (position < 0) return MfsError.EINVAL;
        var r = LoadInode(ino, out var inode);
        if (r != MfsError.None) return r;
        if (inode.IsDirectory) return MfsError.EISDIR;
        if (!inode.IsRegular && !inode.IsSymlink) return MfsError.EINVAL;
        if (position >= inode.FileSize || buffer.IsEmpty) return MfsError.None;
        int n = (int)Math.Min(buffer.Length, inode.FileSize - position);
        long firstBlock = position / BlockSize, lastBlock = (position + n - 1) / BlockSize;
        if (_readAheadIno == ino && _readAheadNext == firstBlock && MapBlock(inode, firstBlock, out uint z0) == MfsError.None && z0 != 0 && !Cache.Contains(z0))
            ReadAhead(inode, firstBlock, Math.Max(_options.ReadAheadBlocks, (int)(lastBlock - firstBlock + 1)));
        int done = 0;
        while (done < n)
        {
            long pos = position + done;
            int inBlock = (int)(pos % BlockSize), chunk = Math.Min(n - done, BlockSize - inBlock);
            r = MapBlock(inode, pos / BlockSize, out uint zone);
            if (r != MfsError.None) return r;
            if (zone == 0) buffer.Slice(done, chunk).Clear();
            else
            {
                var b = Cache.Get(zone);
                if (b is null) return MfsError.EIO;
                b.Data.AsSpan(inBlock, chunk).CopyTo(buffer[done..]);
            }
            done += chunk;
        }
        _readAheadIno = (int)ino;
        _readAheadNext = lastBlock + 1;
        count = n;
        if (!ReadOnly)
        {
            inode.Atime = Now;
            return StoreInode(ino, inode);
        }
        return MfsError.None;
    }

    /// <summary>A sequential read missed the cache: reads its first block and those after it,
    /// <paramref name="count"/> in all (at most half the cache), in as few device reads as the
    /// zones' contiguity allows.</summary>
    private void ReadAhead(in DiskInode inode, long from, int count)
    {
        int want = Math.Min(count, Cache.Capacity / 2);
        long fileBlocks = (inode.FileSize + (long)BlockSize - 1) / BlockSize;
        var zones = new List<long>(want);
        for (long f = from; f < from + want && f < fileBlocks; f++)
        {
            if (MapBlock(inode, f, out uint z) != MfsError.None) break;
            if (z != 0) zones.Add(z);
        }
        if (zones.Count > 1) Cache.Prefetch(zones.ToArray());
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="position"/>, extending the file
    /// (a gap becomes a hole). When the disk fills, the bytes written so far are counted and the
    /// call succeeds short; ENOSPC only if nothing was written.</summary>
    public MfsError Write(uint ino, long position, ReadOnlySpan<byte> data, out int count)
    {
        count = 0;
        if (position < 0) return MfsError.EINVAL;
        var r = LoadInode(ino, out var inode);
        if (r != MfsError.None) return r;
        if (inode.IsDirectory) return MfsError.EISDIR;
        if (!inode.IsRegular) return MfsError.EINVAL;
        if (ReadOnly) return MfsError.EROFS;
        if (data.IsEmpty) return MfsError.None;
        if (position >= MaxFileSize) return MfsError.EFBIG;
        int n = (int)Math.Min(data.Length, MaxFileSize - position);
        int done = 0;
        while (done < n)
        {
            long pos = position + done;
            int inBlock = (int)(pos % BlockSize), chunk = Math.Min(n - done, BlockSize - inBlock);
            r = MapBlockForWrite(ref inode, pos / BlockSize, out uint zone, out bool fresh);
            if (r != MfsError.None) break;
            bool whole = chunk == BlockSize;
            var b = fresh || whole ? Cache.GetForOverwrite(zone) : Cache.Get(zone);
            if (b is null)
            {
                r = MfsError.EIO;
                break;
            }
            if (fresh && !whole) Array.Clear(b.Data);
            data.Slice(done, chunk).CopyTo(b.Data.AsSpan(inBlock));
            Cache.MarkDirty(b);
            done += chunk;
        }
        if (position + done > inode.FileSize) inode.FileSize = (uint)(position + done);
        if (done > 0) inode.Mtime = inode.Ctime = Now;
        var w = StoreInode(ino, inode);
        count = done;
        if (done > 0 && r is MfsError.None or MfsError.ENOSPC) return w;
        return r != MfsError.None ? r : w;
    }

    /// <summary>Sets the size of a regular file: shrinking frees the zones past the end and
    /// zeroes the rest of the last block; growing leaves a hole.</summary>
    public MfsError Truncate(uint ino, long size)
    {
        var r = LoadInode(ino, out var inode);
        if (r != MfsError.None) return r;
        if (inode.IsDirectory) return MfsError.EISDIR;
        if (!inode.IsRegular) return MfsError.EINVAL;
        if (size < 0) return MfsError.EINVAL;
        if (size > MaxFileSize) return MfsError.EFBIG;
        if (ReadOnly) return MfsError.EROFS;
        if (size < inode.FileSize)
        {
            r = FreeBlocksFrom(ref inode, (size + BlockSize - 1) / BlockSize);
            if (r == MfsError.None && size % BlockSize != 0) r = ZeroTail(inode, size);
        }
        inode.FileSize = (uint)size;
        inode.Mtime = inode.Ctime = Now;
        var w = StoreInode(ino, inode);
        return r != MfsError.None ? r : w;
    }

    /// <summary>Zeroes the bytes of the block holding <paramref name="size"/> from there to its end.</summary>
    private MfsError ZeroTail(in DiskInode inode, long size)
    {
        var r = MapBlock(inode, size / BlockSize, out uint zone);
        if (r != MfsError.None || zone == 0) return r;
        var b = Cache.Get(zone);
        if (b is null) return MfsError.EIO;
        Array.Clear(b.Data, (int)(size % BlockSize), BlockSize - (int)(size % BlockSize));
        Cache.MarkDirty(b);
        return MfsError.None;
    }

    /// <summary>A new name <paramref name="name"/> in <paramref name="dir"/> for the existing non-directory <paramref name="target"/>.</summary>
    public MfsError Link(uint dir, string name, uint target, MfsCred cred)
    {
        var r = LoadInode(target, out var t);
        if (r != MfsError.None) return r;
        if (t.IsDirectory) return MfsError.EPERM;
        if (t.Nlinks == 0) return MfsError.ENOENT;
        r = CheckNewEntry(dir, name, cred, out var bytes);
        if (r != MfsError.None) return r;
        if (t.Nlinks >= _options.LinkMax) return MfsError.EMLINK;
        r = AddEntry(dir, bytes, target);
        return r != MfsError.None ? r : AdjustLinks(target, +1);
    }

    /// <summary>Removes the name of a non-directory; the inode goes when its last link does and VFS holds it no more.</summary>
    public MfsError Unlink(uint dir, string name, MfsCred cred)
    {
        var r = CheckName(name, out var bytes);
        if (r != MfsError.None) return r;
        r = WritableDir(dir, cred, out var d);
        if (r != MfsError.None) return r;
        if (IsDotOrDotDot(name)) return MfsError.EISDIR;
        r = FindEntry(d, bytes, out uint ino, out long offset);
        if (r != MfsError.None) return r;
        r = LoadLinkedInode(ino, out var t);
        if (r != MfsError.None) return r;
        if (t.IsDirectory) return MfsError.EISDIR;
        if (!StickyAllows(d, t, cred)) return MfsError.EPERM;
        r = SetEntry(dir, offset, 0);
        return r != MfsError.None ? r : DropLink(ino);
    }

    /// <summary>In a sticky directory only the owner of the entry or of the directory (or root) may remove or rename it.</summary>
    private static bool StickyAllows(in DiskInode dir, in DiskInode target, MfsCred cred) =>
        (dir.Mode & 0x200) == 0 || MfsAccess.IsOwner(target.Uid, cred) || MfsAccess.IsOwner(dir.Uid, cred);

    /// <summary>A symbolic link <paramref name="name"/> → <paramref name="target"/>; the target is stored in the link's first zone.</summary>
    public MfsError Symlink(uint dir, string name, string target, MfsCred cred, out uint ino)
    {
        ino = 0;
        if (string.IsNullOrEmpty(target)) return MfsError.ENOENT;
        var t = Encoding.UTF8.GetBytes(target);
        if (t.Length >= BlockSize) return MfsError.ENAMETOOLONG;
        if (Array.IndexOf(t, (byte)0) >= 0) return MfsError.EINVAL;
        var r = CheckNewEntry(dir, name, cred, out var bytes);
        if (r != MfsError.None) return r;
        return MakeNode(dir, bytes, ModeBits.Symlink | 0x1FF, cred, 1, (uint)t.Length, (block, _) => t.CopyTo(block), 0, out ino);
    }

    /// <summary>The target of symbolic link <paramref name="ino"/>.</summary>
    public MfsError ReadLink(uint ino, out string target)
    {
        target = "";
        var r = LoadInode(ino, out var inode);
        if (r != MfsError.None) return r;
        return inode.IsSymlink ? ReadLinkTarget(inode, out target) : MfsError.EINVAL;
    }
}
