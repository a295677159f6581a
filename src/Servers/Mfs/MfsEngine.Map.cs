// Block mapping: from a block of a file to its zone, through the inode's seven direct zones and
// its single, double and triple indirect zones (each indirect block holds BlockSize/4 u32 zone
// numbers, 0 = hole). Reading a hole gives 0 (the caller reads zeros); writing one allocates
// the missing indirect blocks (zeroed) and the data zone. FreeBlocksFrom frees every zone of
// file blocks at and after a given one, and the indirect blocks left empty.
// Rules: every zone number read from an inode or an indirect block is range-checked before it
// is followed (EIO otherwise). Indirect blocks are copied out before recursing, because a cache
// block is only valid until the next cache call. An allocation that fails half-way leaves the
// tree consistent (a new indirect block stays attached, empty).
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public sealed partial class MfsEngine
{
    /// <summary>Where file block <paramref name="fblock"/> hangs: the inode slot, how many
    /// indirect levels below it, and the index at each level. False past the triple indirect zone.</summary>
    private bool Route(long fblock, Span<int> index, out int slot, out int depth)
    {
        long p = PointersPerBlock;
        slot = depth = 0;
        if (fblock < 0) return false;
        if (fblock < DiskInode.Direct)
        {
            slot = (int)fblock;
            return true;
        }
        fblock -= DiskInode.Direct;
        long span = p;
        for (depth = 1; depth <= 3; depth++)
        {
            if (fblock < span)
            {
                slot = DiskInode.SingleIndirect + depth - 1;
                for (int level = depth - 1; level >= 0; level--)
                {
                    index[level] = (int)(fblock % p);
                    fblock /= p;
                }
                return true;
            }
            fblock -= span;
            span *= p;
        }
        return false;
    }

    /// <summary>The zone of file block <paramref name="fblock"/>, 0 for a hole.</summary>
    private MfsError MapBlock(in DiskInode inode, long fblock, out uint zone)
    {
        zone = 0;
        Span<int> index = stackalloc int[3];
        if (!Route(fblock, index, out int slot, out int depth)) return MfsError.EFBIG;
        uint z = inode.Zones[slot];
        for (int level = 0; ; level++)
        {
            if (z == 0) return MfsError.None;
            if (!ValidZone(z)) return MfsError.EIO;
            if (level == depth) break;
            var b = Cache.Get(z);
            if (b is null) return MfsError.EIO;
            z = Pointer(b.Data, index[level]);
        }
        zone = z;
        return MfsError.None;
    }

    /// <summary>The zone of file block <paramref name="fblock"/>, allocating it and any missing
    /// indirect block; <paramref name="fresh"/> when the data zone is new (its contents are not
    /// zeroed: the caller fills it). Changes <paramref name="inode"/>'s zones; the caller stores it.</summary>
    private MfsError MapBlockForWrite(ref DiskInode inode, long fblock, out uint zone, out bool fresh)
    {
        zone = 0;
        fresh = false;
        Span<int> index = stackalloc int[3];
        if (!Route(fblock, index, out int slot, out int depth)) return MfsError.EFBIG;
        uint z = inode.Zones[slot];
        if (z == 0)
        {
            var r = AllocZone(zero: depth > 0, out z);
            if (r != MfsError.None) return r;
            inode.Zones[slot] = z;
            fresh = depth == 0;
        }
        else if (!ValidZone(z)) return MfsError.EIO;
        for (int level = 0; level < depth; level++)
        {
            var b = Cache.Get(z);
            if (b is null) return MfsError.EIO;
            uint next = Pointer(b.Data, index[level]);
            if (next == 0)
            {
                bool leaf = level == depth - 1;
                var r = AllocZone(zero: !leaf, out next);
                if (r != MfsError.None) return r;
                b = Cache.Get(z);
                if (b is null)
                {
                    FreeZone(next);
                    return MfsError.EIO;
                }
                SetPointer(b.Data, index[level], next);
                Cache.MarkDirty(b);
                fresh = leaf;
            }
            else if (!ValidZone(next)) return MfsError.EIO;
            z = next;
        }
        zone = z;
        return MfsError.None;
    }

    /// <summary>Frees the zones of file blocks <paramref name="first"/> and after, and indirect
    /// blocks left with no entries. Changes <paramref name="inode"/>'s zones; the caller stores it.</summary>
    private MfsError FreeBlocksFrom(ref DiskInode inode, long first)
    {
        var result = MfsError.None;
        for (int s = 0; s < DiskInode.Direct; s++)
        {
            if (s < first || inode.Zones[s] == 0) continue;
            var r = FreeZone(inode.Zones[s]);
            inode.Zones[s] = 0;
            if (r != MfsError.None) result = r;
        }
        long start = DiskInode.Direct, span = PointersPerBlock;
        for (int depth = 1; depth <= 3; depth++)
        {
            int slot = DiskInode.SingleIndirect + depth - 1;
            if (inode.Zones[slot] != 0 && first < start + span)
            {
                uint z = inode.Zones[slot];
                var r = FreeTree(ref z, depth, Math.Max(0, first - start));
                inode.Zones[slot] = z;
                if (r != MfsError.None) result = r;
            }
            start += span;
            span *= PointersPerBlock;
        }
        return result;
    }

    /// <summary>Frees, below indirect zone <paramref name="zone"/> of <paramref name="depth"/>
    /// levels, the file blocks from <paramref name="from"/> (relative to this subtree) on; frees
    /// the indirect zone itself (and clears <paramref name="zone"/>) when nothing is left in it.</summary>
    private MfsError FreeTree(ref uint zone, int depth, long from)
    {
        if (depth == 0)
        {
            var fr = FreeZone(zone);
            zone = 0;
            return fr;
        }
        if (!ValidZone(zone)) return MfsError.EIO;
        var b = Cache.Get(zone);
        if (b is null) return MfsError.EIO;
        var entries = new uint[PointersPerBlock];
        for (int i = 0; i < entries.Length; i++) entries[i] = Pointer(b.Data, i);

        long childSpan = 1;
        for (int d = 1; d < depth; d++) childSpan *= PointersPerBlock;
        var result = MfsError.None;
        for (long i = from / childSpan; i < entries.Length; i++)
        {
            if (entries[i] == 0) continue;
            var r = FreeTree(ref entries[i], depth - 1, Math.Max(0, from - i * childSpan));
            if (r != MfsError.None) result = r;
        }
        bool empty = Array.TrueForAll(entries, e => e == 0);
        if (empty)
        {
            var fr = FreeZone(zone);
            zone = 0;
            return result != MfsError.None ? result : fr;
        }
        b = Cache.Get(zone);
        if (b is null) return MfsError.EIO;
        for (int i = 0; i < entries.Length; i++) SetPointer(b.Data, i, entries[i]);
        Cache.MarkDirty(b);
        return result;
    }
}
