// An allocation bitmap on disk (MINIX's inode map or zone map), read and written through the
// buffer cache. Bit b of the map is bit b%8 of byte b/8 across Blocks consecutive blocks from
// Start. Bit 0 is reserved (always set, never handed out); bits 1..Bits-1 stand for objects
// (inode b, or zone FirstDataZone - 1 + b); bits from Bits up to the end of the last block are
// set by mkfs and never looked at.
// Rules: Allocate searches from a rotating hint and answers 0 when the map is full; Free of a
// bit that is already clear (a damaged map) is reported false so the caller can answer EIO.
// A device error reading a map block makes Allocate answer -1.
namespace Bulkhead.Servers.Mfs.Cache;

public sealed class Bitmap(BufferCache cache, long start, int blocks, long bits)
{
    private long _hint = 1;

    public long Start => start;
    public int Blocks => blocks;
    /// <summary>Bits that stand for objects, the reserved bit 0 included.</summary>
    public long Bits => bits;
    private long BitsPerBlock => cache.BlockSize * 8L;

    /// <summary>The number of a newly set bit, 0 if none is free, -1 on a device error.</summary>
    public long Allocate()
    {
        for (int pass = 0; pass < 2; pass++)
        {
            long from = pass == 0 ? _hint : 1, to = pass == 0 ? bits : _hint;
            long r = Search(from, to);
            if (r != 0)
            {
                if (r > 0) _hint = r + 1 < bits ? r + 1 : 1;
                return r;
            }
        }
        return 0;
    }

    private long Search(long from, long to)
    {
        long bit = from;
        while (bit < to)
        {
            long blk = bit / BitsPerBlock;
            var b = cache.Get(start + blk);
            if (b is null) return -1;
            long blockEnd = Math.Min(to, (blk + 1) * BitsPerBlock);
            for (; bit < blockEnd; bit++)
            {
                int inBlock = (int)(bit - blk * BitsPerBlock);
                byte v = b.Data[inBlock >> 3];
                if (v == 0xFF && (inBlock & 7) == 0 && bit + 8 <= blockEnd) { bit += 7; continue; }
                if ((v & (1 << (inBlock & 7))) != 0) continue;
                b.Data[inBlock >> 3] = (byte)(v | (1 << (inBlock & 7)));
                cache.MarkDirty(b);
                return bit;
            }
        }
        return 0;
    }

    /// <summary>Clears bit <paramref name="bit"/>; false if it was already clear, out of range, or unreadable.</summary>
    public bool Free(long bit)
    {
        if (bit <= 0 || bit >= bits) return false;
        var b = cache.Get(start + bit / BitsPerBlock);
        if (b is null) return false;
        int inBlock = (int)(bit % BitsPerBlock);
        byte mask = (byte)(1 << (inBlock & 7));
        if ((b.Data[inBlock >> 3] & mask) == 0) return false;
        b.Data[inBlock >> 3] &= (byte)~mask;
        cache.MarkDirty(b);
        if (bit < _hint) _hint = bit;
        return true;
    }

    /// <summary>Whether bit <paramref name="bit"/> is set; null on a device error.</summary>
    public bool? IsSet(long bit)
    {
        if (bit < 0 || bit >= bits) return null;
        var b = cache.Get(start + bit / BitsPerBlock);
        if (b is null) return null;
        int inBlock = (int)(bit % BitsPerBlock);
        return (b.Data[inBlock >> 3] & (1 << (inBlock & 7))) != 0;
    }

    /// <summary>Clear bits among 1..Bits-1; -1 on a device error.</summary>
    public long CountFree()
    {
        long free = 0;
        for (long blk = 0; blk * BitsPerBlock < bits; blk++)
        {
            var b = cache.Get(start + blk);
            if (b is null) return -1;
            long first = blk * BitsPerBlock, end = Math.Min(bits, first + BitsPerBlock);
            for (long bit = Math.Max(first, 1); bit < end; bit++)
                if ((b.Data[(int)(bit - first) >> 3] & (1 << (int)((bit - first) & 7))) == 0) free++;
        }
        return free;
    }
}
