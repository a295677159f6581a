// The arena heap: a free-list allocator over [SysCall.HeapStart, arena end) of the calling
// component (first fit from the bottom for small blocks, from the top for large ones), for buffers that the kernel must reach by offset (grantable buffers,
// grant tables, SENDA tables). It hands out offsets, never pointers, aligned to 16 bytes.
// Rules: thread-safe (one lock); its bookkeeping lives in managed memory, not in the arena,
// so a component that scribbles over its arena cannot corrupt the allocator; freed blocks are
// coalesced with their neighbours; memory is not cleared (callers that publish a block to the
// kernel clear it first). SysCall.Spawn of an in-memory image passes it through a heap block.
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Ipc;

public static class ArenaHeap
{
    private static RangeAllocator? s_heap;
    private static readonly object s_initLock = new();

    private static RangeAllocator Heap
    {
        get
        {
            if (s_heap is { } h) return h;
            lock (s_initLock) return s_heap ??= new RangeAllocator(SysCall.HeapStart, Channel.Current.ArenaSize);
        }
    }

    /// <summary>Allocates <paramref name="size"/> bytes; the arena offset, or ENOMEM/EINVAL (negative).</summary>
    public static long Allocate(long size) => Heap.Allocate(size);

    /// <summary>Frees a block returned by Allocate: OK, or EINVAL for anything else.</summary>
    public static int Free(long offset) => Heap.Free(offset);

    /// <summary>Bytes not allocated (possibly fragmented).</summary>
    public static long Available => Heap.Available;
}

/// <summary>Allocator of offsets in [start, end), 16-byte aligned, thread-safe: first fit from
/// the bottom for small blocks, from the top for large ones.</summary>
public sealed class RangeAllocator
{
    public const int Alignment = 16;

    private readonly object _lock = new();
    /// <summary>Free blocks by offset (offset → size), never adjacent (coalesced).</summary>
    private readonly SortedList<long, long> _free = [];
    private readonly Dictionary<long, long> _used = [];
    private long _available;

    public long Start { get; }
    public long End { get; }

    public RangeAllocator(long start, long end)
    {
        long s = AlignUp(Math.Max(0, start));
        if (end < s) end = s;
        Start = s;
        End = end & ~(long)(Alignment - 1);
        if (End > Start)
        {
            _free.Add(Start, End - Start);
            _available = End - Start;
        }
    }

    public long Available
    {
        get { lock (_lock) return _available; }
    }

    public int BlockCount
    {
        get { lock (_lock) return _used.Count; }
    }

    private static long AlignUp(long v) => (v + Alignment - 1) & ~(long)(Alignment - 1);

    /// <summary>Blocks this large are cut from the top of the highest free block that fits,
    /// small ones first-fit from the bottom: big transient buffers (binary images on their way
    /// to a spawn) and small long-lived ones (grant tables) do not fragment each other.</summary>
    public const long LargeBlock = 256 * 1024;

    public long Allocate(long size)
    {
        if (size <= 0 || size > long.MaxValue - Alignment) return Err.EINVAL;
        long need = AlignUp(size);
        lock (_lock)
        {
            if (need >= LargeBlock)
            {
                for (int i = _free.Count - 1; i >= 0; i--)
                {
                    long at = _free.Keys[i], len = _free.Values[i];
                    if (len < need) continue;
                    long top = at + len - need;
                    if (len > need) _free[at] = len - need;
                    else _free.RemoveAt(i);
                    _used.Add(top, need);
                    _available -= need;
                    return top;
                }
                return Err.ENOMEM;
            }
            for (int i = 0; i < _free.Count; i++)
            {
                long at = _free.Keys[i], len = _free.Values[i];
                if (len < need) continue;
                _free.RemoveAt(i);
                if (len > need) _free.Add(at + need, len - need);
                _used.Add(at, need);
                _available -= need;
                return at;
            }
        }
        return Err.ENOMEM;
    }

    public int Free(long offset)
    {
        lock (_lock)
        {
            if (!_used.Remove(offset, out long len)) return Err.EINVAL;
            _available += len;
            long at = offset;
            // Merge with the following free block.
            if (_free.TryGetValue(at + len, out long nextLen))
            {
                _free.Remove(at + len);
                len += nextLen;
            }
            // Merge with the preceding free block.
            int idx = LastFreeBefore(at);
            if (idx >= 0 && _free.Keys[idx] + _free.Values[idx] == at)
            {
                long prev = _free.Keys[idx];
                _free[prev] = _free.Values[idx] + len;
            }
            else
            {
                _free.Add(at, len);
            }
            return Err.Ok;
        }
    }

    /// <summary>Index of the free block with the largest offset below <paramref name="at"/>, or -1.</summary>
    private int LastFreeBefore(long at)
    {
        var keys = _free.Keys;
        int lo = 0, hi = keys.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid] < at) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }
}
