// The MINIX v3 file-system engine (thesis §4.3.1; issue 11 item 5; docs/mfs.md): the on-disk
// format of MINIX 3 and Linux fs/minix as plain code with no IPC in it. The MFS server owns one
// engine per mounted device and turns each VFS request into one call here: lookup, create,
// read, write, truncate, mkdir, rmdir, unlink, link, symlink, readlink, rename, chmod, chown,
// utime, stat, getdents, statfs, sync, and Retain/Release for inodes VFS holds open.
// Interface: TryMount checks the superblock and the root inode and answers a sentence when the
// image is not one it can use. Every call answers an MfsError (None = success); counts and
// results travel in out parameters.
// Rules: single-threaded (the server's one thread owns the engine). Every call checks all its
// arguments before it changes anything. Nothing on the disk is trusted: an inode number or zone
// number out of range, a directory that is not one, a bitmap that disagrees with a free — each
// is EIO for that call, never an exception and never a read or write outside the file system.
// Blocks go through the BufferCache (bounded, LRU, write-back); nothing reaches the device
// between Syncs except evicted dirty blocks. Inodes are read into a DiskInode copy, changed and
// stored back before the next inode is loaded, so two copies of one inode are never live.
using Bulkhead.Servers.Mfs.Cache;
using Bulkhead.Servers.Mfs.Device;
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public sealed partial class MfsEngine
{
    public const uint RootInode = 1;

    private readonly MfsOptions _options;
    private readonly Bitmap _imap;
    private readonly Bitmap _zmap;
    private readonly Dictionary<uint, int> _retained = [];

    private MfsEngine(IBlockDevice device, Superblock sb, MfsOptions options)
    {
        _options = options;
        Super = sb;
        Cache = new BufferCache(device, sb.BlockSize, options.CacheBlocks);
        _imap = new Bitmap(Cache, Superblock.MapStart, sb.ImapBlocks, sb.Inodes + 1L);
        _zmap = new Bitmap(Cache, Superblock.MapStart + sb.ImapBlocks, sb.ZmapBlocks, sb.DataZones + 1);
        PointersPerBlock = sb.BlockSize / 4;
        long p = PointersPerBlock;
        long addressable = (DiskInode.Direct + p + p * p + p * p * p) * sb.BlockSize;
        MaxFileSize = Math.Min(Math.Min(addressable, sb.MaxSize), uint.MaxValue);
    }

    public Superblock Super { get; }
    public BufferCache Cache { get; }
    public bool ReadOnly => _options.ReadOnly;
    public int BlockSize => Super.BlockSize;
    /// <summary>The largest file size: the superblock's max_size, bounded by what the zone tree and a u32 size can hold.</summary>
    public long MaxFileSize { get; }
    internal int PointersPerBlock { get; }
    private uint Now => _options.Clock();

    /// <summary>Mounts the file system on <paramref name="device"/>, or answers why not: EINVAL
    /// with <paramref name="reason"/> for an image that is not a usable MINIX v3 file system,
    /// EIO when the device cannot be read.</summary>
    public static MfsError TryMount(IBlockDevice device, MfsOptions? options, out MfsEngine? engine, out string reason)
    {
        ArgumentNullException.ThrowIfNull(device);
        options ??= new MfsOptions();
        engine = null;
        if (options.CacheBlocks < BufferCache.MinCapacity)
        {
            reason = $"cache of {options.CacheBlocks} blocks is below the minimum {BufferCache.MinCapacity}";
            return MfsError.EINVAL;
        }
        Span<byte> raw = stackalloc byte[1024];
        if (device.Size < 2048)
        {
            reason = $"device of {device.Size} bytes is too small to hold a superblock";
            return MfsError.EINVAL;
        }
        if (!device.Read(Superblock.Offset, raw))
        {
            reason = "cannot read the superblock";
            return MfsError.EIO;
        }
        var sb = Superblock.Read(raw);
        if (sb.Validate(device.Size) is { } bad)
        {
            reason = "superblock: " + bad;
            return MfsError.EINVAL;
        }
        var e = new MfsEngine(device, sb, options);
        var r = e.CheckRoot(out reason);
        if (r != MfsError.None) return r;
        engine = e;
        reason = "";
        return MfsError.None;
    }

    private MfsError CheckRoot(out string reason)
    {
        reason = "";
        if (_imap.IsSet(0) is null || _zmap.IsSet(0) is null)
        {
            reason = "cannot read the bitmaps";
            return MfsError.EIO;
        }
        if (_imap.IsSet(RootInode) != true)
        {
            reason = "root inode 1 is not marked in use in the inode bitmap";
            return MfsError.EINVAL;
        }
        if (ReadInode(RootInode, out var root) != MfsError.None)
        {
            reason = "cannot read the root inode";
            return MfsError.EIO;
        }
        if (!root.IsDirectory || root.Nlinks < 2 || root.FileSize < 2 * DirEntryLayout.Size || root.FileSize % DirEntryLayout.Size != 0)
        {
            reason = $"root inode is not a directory (mode 0{Convert.ToString(root.Mode, 8)}, {root.Nlinks} links, size {root.FileSize})";
            return MfsError.EINVAL;
        }
        return MfsError.None;
    }

    /// <summary>Writes every dirty block and flushes the device.</summary>
    public MfsError Sync() => ReadOnly || Cache.Sync() ? MfsError.None : MfsError.EIO;

    /// <summary>Sizes and free counts for df.</summary>
    public MfsError StatFs(out MfsStatFs result)
    {
        result = default;
        long freeZones = _zmap.CountFree(), freeInodes = _imap.CountFree();
        if (freeZones < 0 || freeInodes < 0) return MfsError.EIO;
        result = new MfsStatFs(BlockSize, Super.Zones, freeZones, Super.Inodes, freeInodes, DirEntryLayout.NameMax);
        return MfsError.None;
    }

    /// <summary>VFS holds <paramref name="ino"/> open: it outlives its last link until Release.</summary>
    public MfsError Retain(uint ino)
    {
        var r = LoadInode(ino, out _);
        if (r != MfsError.None) return r;
        _retained[ino] = _retained.GetValueOrDefault(ino) + 1;
        return MfsError.None;
    }

    /// <summary>VFS let go of <paramref name="ino"/>; an inode with no links left is freed now.</summary>
    public MfsError Release(uint ino)
    {
        if (!_retained.TryGetValue(ino, out int n)) return MfsError.EINVAL;
        if (n > 1)
        {
            _retained[ino] = n - 1;
            return MfsError.None;
        }
        _retained.Remove(ino);
        var r = ReadInode(ino, out var i);
        if (r != MfsError.None) return r;
        return i.Nlinks == 0 && !ReadOnly ? FreeInode(ino, ref i) : MfsError.None;
    }

    /// <summary>Inodes held open by Retain.</summary>
    public int RetainedCount => _retained.Count;
}
