// Our mkfs: writes an empty MINIX v3 file system on a device — boot block, superblock, inode
// and zone bitmaps, inode table, and the root directory (inode 1, "." and ".." in the first
// data zone) — laid out as Linux's mkfs.minix -3 lays it out, so fsck.minix accepts it.
// Parameters: block size (1024 or 4096), inode count (0 = one per 3 blocks, rounded up to
// fill the last inode-table block), size in bytes (0 = the whole device), and the root's owner.
// Rules: every parameter is checked before the first write; a file system that would not fit
// (metadata larger than the device, more than 65535 bitmap blocks or a first data zone past
// 65535, which the 16-bit superblock fields cannot say) is refused with a reason. Bits past the
// last inode and the last zone in the final bitmap blocks are set, so they are never handed out.
using Bulkhead.Servers.Mfs.Device;
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public static class Mkfs
{
    /// <summary>What Linux mkfs.minix writes as max_size for v3; the engine also bounds it by the zone tree.</summary>
    public const uint DefaultMaxSize = 0x7FFFFFFF;

    public sealed record Options
    {
        public int BlockSize { get; init; } = 1024;
        public long Inodes { get; init; }
        public long SizeBytes { get; init; }
        public ushort RootUid { get; init; }
        public ushort RootGid { get; init; }
        public uint Time { get; init; } = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <summary>The superblock Format would write, or why no file system fits.</summary>
    public static Superblock? Plan(Options o, long deviceSize, out string reason)
    {
        ArgumentNullException.ThrowIfNull(o);
        reason = "";
        int bs = o.BlockSize;
        if (!Superblock.IsSupportedBlockSize(bs))
        {
            reason = $"block size {bs} is not supported (1024 or 4096)";
            return null;
        }
        long size = o.SizeBytes == 0 ? deviceSize : o.SizeBytes;
        if (size < 0 || size > deviceSize)
        {
            reason = $"size {size} does not fit the device ({deviceSize} bytes)";
            return null;
        }
        long zones = size / bs;
        if (zones > uint.MaxValue)
        {
            reason = $"{zones} blocks exceed the 32-bit zone count";
            return null;
        }
        int ipb = bs / DiskInode.Size;
        long inodes = o.Inodes != 0 ? o.Inodes : Math.Max(ipb, zones / 3);
        if (o.Inodes == 0) inodes = (inodes + ipb - 1) / ipb * ipb;
        if (inodes < 1 || inodes >= uint.MaxValue)
        {
            reason = $"bad inode count {inodes}";
            return null;
        }
        long bits = bs * 8L;
        long imap = (inodes + 1 + bits - 1) / bits;
        long zmap = (zones + bits - 1) / bits;
        long first = Superblock.MapStart + imap + zmap + (inodes + ipb - 1) / ipb;
        if (imap > ushort.MaxValue || zmap > ushort.MaxValue || first > ushort.MaxValue)
        {
            reason = $"layout too large for the superblock's 16-bit fields (first data zone {first})";
            return null;
        }
        if (first + 1 > zones)
        {
            reason = $"device of {zones} blocks cannot hold {first} blocks of metadata and a root directory";
            return null;
        }
        return new Superblock
        {
            Inodes = (uint)inodes,
            ImapBlocks = (ushort)imap,
            ZmapBlocks = (ushort)zmap,
            FirstDataZone = (ushort)first,
            LogZoneSize = 0,
            MaxSize = DefaultMaxSize,
            Zones = (uint)zones,
            BlockSize = (ushort)bs,
        };
    }

    /// <summary>Writes an empty file system; EINVAL with a reason if the parameters do not fit, EIO if the device fails.</summary>
    public static MfsError Format(IBlockDevice device, Options o, out string reason)
    {
        ArgumentNullException.ThrowIfNull(device);
        var sb = Plan(o, device.Size, out reason);
        if (sb is null) return MfsError.EINVAL;
        int bs = sb.BlockSize;
        var block = new byte[bs];
        bool ok = true;
        // Boot block, (superblock block,) bitmaps and inode table start zeroed.
        for (long b = 0; b < sb.FirstDataZone && ok; b++) ok = device.WriteBlock(b, block);

        var raw = new byte[1024];
        sb.Write(raw);
        ok = ok && device.Write(Superblock.Offset, raw);
        ok = ok && WriteMap(device, sb, Superblock.MapStart, sb.ImapBlocks, sb.Inodes + 1L, used: 2);      // bit 0 reserved, bit 1 root
        ok = ok && WriteMap(device, sb, Superblock.MapStart + sb.ImapBlocks, sb.ZmapBlocks, sb.DataZones + 1, used: 2); // bit 0 reserved, bit 1 root's zone

        var root = new DiskInode
        {
            Mode = ModeBits.Directory | 0x1ED, // 0755
            Nlinks = 2,
            Uid = o.RootUid,
            Gid = o.RootGid,
            FileSize = 2 * DirEntryLayout.Size,
            Atime = o.Time,
            Mtime = o.Time,
            Ctime = o.Time,
        };
        root.Zones[0] = sb.FirstDataZone;
        Array.Clear(block);
        root.Write(block);
        ok = ok && device.WriteBlock(sb.InodeTableStart, block);

        Array.Clear(block);
        DirEntryLayout.Write(block.AsSpan(0, DirEntryLayout.Size), MfsEngine.RootInode, "."u8);
        DirEntryLayout.Write(block.AsSpan(DirEntryLayout.Size, DirEntryLayout.Size), MfsEngine.RootInode, ".."u8);
        ok = ok && device.WriteBlock(sb.FirstDataZone, block);
        ok = ok && device.Flush();
        if (!ok) reason = "device write failed";
        return ok ? MfsError.None : MfsError.EIO;
    }

    /// <summary>A bitmap of <paramref name="blocks"/> blocks: bits 0..used-1 set, bits from
    /// <paramref name="bits"/> to the end set, the rest clear.</summary>
    private static bool WriteMap(IBlockDevice device, Superblock sb, long start, int blocks, long bits, int used)
    {
        int bs = sb.BlockSize;
        var map = new byte[bs];
        for (int i = 0; i < blocks; i++)
        {
            Array.Clear(map);
            long first = (long)i * bs * 8;
            for (long bit = first; bit < first + bs * 8L; bit++)
            {
                if (bit < used || bit >= bits) map[(bit - first) >> 3] |= (byte)(1 << (int)((bit - first) & 7));
            }
            if (!device.WriteBlock(start + i, map)) return false;
        }
        return true;
    }
}
