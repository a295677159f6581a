// The block cache between the engine and the device (MINIX's buf.c, xv6's bio.c): at most
// Capacity blocks, least recently used evicted first, written back only when evicted or synced
// (with the dirty blocks that follow it on the device, in one write).
// Interface: Get (read through), GetForOverwrite (a block about to be filled whole: no read),
// MarkDirty, Prefetch (read-ahead of blocks not cached, in contiguous runs), Invalidate (a
// block freed), Sync (write every dirty block in block order, then flush the device).
// Rules: a CacheBlock returned by Get is valid only until the next call into the cache (the
// next Get may evict it), so callers read or change it, mark it dirty, and let go before they
// ask for another block — the engine copies what it needs (an indirect block's entries) out
// first. The cache never holds more than Capacity blocks. A failed device read is an error for
// the caller (the block is not cached); a failed write-back is counted and makes the next Sync
// answer false (a block evicted that way is lost; one written by Sync stays dirty and cached).
using Bulkhead.Servers.Mfs.Device;

namespace Bulkhead.Servers.Mfs.Cache;

public sealed class BufferCache
{
    public const int MinCapacity = 8;
    /// <summary>Most blocks one write-back writes together (64 KiB of 1 KiB blocks).</summary>
    public const int MaxWriteRun = 64;

    private readonly IBlockDevice _device;
    private readonly Dictionary<long, CacheBlock> _map = [];
    private readonly LinkedList<CacheBlock> _lru = []; // most recently used first
    private readonly Stack<CacheBlock> _spare = [];
    private bool _writeFailed;

    public BufferCache(IBlockDevice device, int blockSize, int capacity)
    {
        if (capacity < MinCapacity) throw new ArgumentOutOfRangeException(nameof(capacity), $"at least {MinCapacity} blocks");
        _device = device;
        BlockSize = blockSize;
        Capacity = capacity;
        DeviceBlocks = device.Size / blockSize;
    }

    public int BlockSize { get; }
    public int Capacity { get; }
    public long DeviceBlocks { get; }
    public int Count => _map.Count;
    public CacheStats Stats { get; } = new();

    /// <summary>The block, read from the device if it is not cached; null on a device error or a block past the device.</summary>
    public CacheBlock? Get(long number)
    {
        if (_map.TryGetValue(number, out var b))
        {
            Stats.Hits++;
            Touch(b);
            return b;
        }
        Stats.Misses++;
        if ((ulong)number >= (ulong)DeviceBlocks) return null;
        b = Take();
        Stats.DeviceReads++;
        if (!_device.ReadBlock(number, b.Data))
        {
            _spare.Push(b);
            return null;
        }
        Insert(b, number);
        return b;
    }

    /// <summary>The block without reading it, zeroed if it was not cached: for a block the caller fills whole.</summary>
    public CacheBlock? GetForOverwrite(long number)
    {
        if (_map.TryGetValue(number, out var b))
        {
            Touch(b);
            return b;
        }
        if ((ulong)number >= (ulong)DeviceBlocks) return null;
        b = Take();
        Array.Clear(b.Data);
        Insert(b, number);
        return b;
    }

    public void MarkDirty(CacheBlock b) => b.Dirty = true;

    public bool Contains(long number) => _map.ContainsKey(number);

    /// <summary>Drops a cached copy without writing it (the block was freed).</summary>
    public void Invalidate(long number)
    {
        if (!_map.Remove(number, out var b)) return;
        _lru.Remove(b.Node!);
        b.Node = null;
        b.Dirty = false;
        _spare.Push(b);
    }

    /// <summary>Reads the blocks of <paramref name="numbers"/> that are not cached, contiguous
    /// runs in one device read each. Best effort: a failed read only means no read-ahead.</summary>
    public void Prefetch(ReadOnlySpan<long> numbers)
    {
        int limit = Math.Min(numbers.Length, Capacity / 2);
        int i = 0;
        while (i < limit)
        {
            long first = numbers[i];
            if (_map.ContainsKey(first) || (ulong)first >= (ulong)DeviceBlocks) { i++; continue; }
            int run = 1;
            while (i + run < limit && numbers[i + run] == first + run && !_map.ContainsKey(first + run) && first + run < DeviceBlocks) run++;
            var bytes = new byte[run * BlockSize];
            Stats.DeviceReads++;
            if (_device.Read(first * BlockSize, bytes))
            {
                for (int k = 0; k < run; k++)
                {
                    var b = Take();
                    bytes.AsSpan(k * BlockSize, BlockSize).CopyTo(b.Data);
                    Insert(b, first + k);
                    Stats.ReadAheadBlocks++;
                }
            }
            i += run;
        }
    }

    /// <summary>Writes every dirty block and flushes the device; false if any write failed since the last Sync.</summary>
    public bool Sync()
    {
        var dirty = _map.Values.Where(b => b.Dirty).OrderBy(b => b.Number).ToList();
        foreach (var b in dirty)
            if (b.Dirty) WriteBack(b);                      // a run written before took it already
        bool ok = !_writeFailed & _device.Flush();
        _writeFailed = false;
        return ok;
    }

    public int DirtyCount => _map.Values.Count(b => b.Dirty);

    private void Touch(CacheBlock b)
    {
        if (_lru.First == b.Node) return;
        _lru.Remove(b.Node!);
        _lru.AddFirst(b.Node!);
    }

    private void Insert(CacheBlock b, long number)
    {
        b.Number = number;
        b.Dirty = false;
        b.Node = _lru.AddFirst(b);
        _map.Add(number, b);
        if (_map.Count > Stats.HighWater) Stats.HighWater = _map.Count;
    }

    /// <summary>A free buffer: a spare one, a new one while under Capacity, or the least recently used, written back.</summary>
    private CacheBlock Take()
    {
        if (_spare.TryPop(out var s)) return s;
        if (_map.Count < Capacity) return new CacheBlock(BlockSize);
        var victim = _lru.Last!.Value;
        if (victim.Dirty) WriteBack(victim);
        _lru.RemoveLast();
        victim.Node = null;
        _map.Remove(victim.Number);
        Stats.Evictions++;
        return victim;
    }

    /// <summary>Writes <paramref name="b"/> together with the dirty cached blocks that follow it
    /// on the device (at most MaxWriteRun in all) in one device write: a file written
    /// sequentially leaves long runs, and one request per run instead of per block is what
    /// makes write-back cheap.</summary>
    private void WriteBack(CacheBlock b)
    {
        int run = 1;
        while (run < MaxWriteRun && _map.TryGetValue(b.Number + run, out var next) && next.Dirty) run++;
        Stats.DeviceWrites++;
        bool ok;
        if (run == 1) ok = _device.WriteBlock(b.Number, b.Data);
        else
        {
            var bytes = new byte[run * BlockSize];
            for (int k = 0; k < run; k++) _map[b.Number + k].Data.CopyTo(bytes.AsSpan(k * BlockSize));
            ok = _device.Write(b.Number * BlockSize, bytes);
        }
        if (ok)
        {
            for (int k = 0; k < run; k++) _map[b.Number + k].Dirty = false;
            return;
        }
        Stats.WriteErrors++;
        _writeFailed = true;
    }
}
