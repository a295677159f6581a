// "Physical memory" as bus-master devices see it: a sparse set of 4 KiB page frames, each
// backed by a Memory<byte> the kernel supplies (later: arena pages it pinned for MAPDMA).
// Interface: Map/Unmap a page frame number, and Read/Write at a physical address; an access
// may span pages and succeeds only if every page it touches is mapped — it is checked in full
// before a byte moves, so a refused access transfers nothing. Rules: the number of mapped
// frames is bounded (fixed at construction); devices never call this directly, they go through
// an Iommu port. Thread-safe: one lock guards the frame table and the copies.
namespace Bulkhead.Machine.Dma;

public sealed class PhysicalMemory
{
    public const int PageShift = 12;
    public const int PageSize = 1 << PageShift;

    private readonly object _lock = new();
    private readonly int _maxPages;
    private readonly Dictionary<ulong, Memory<byte>> _frames = []; // guarded by _lock

    public PhysicalMemory(int maxPages)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPages);
        _maxPages = maxPages;
    }

    public int MappedPages
    {
        get { lock (_lock) return _frames.Count; }
    }

    /// <summary>Backs frame <paramref name="pfn"/> with <paramref name="page"/> (exactly one page);
    /// false if the frame is already mapped, the page has the wrong size or the table is full.</summary>
    public bool Map(ulong pfn, Memory<byte> page)
    {
        if (page.Length != PageSize || pfn > ulong.MaxValue >> PageShift) return false;
        lock (_lock)
        {
            if (_frames.Count >= _maxPages || _frames.ContainsKey(pfn)) return false;
            _frames.Add(pfn, page);
            return true;
        }
    }

    /// <summary>Removes frame <paramref name="pfn"/>; false if it was not mapped.</summary>
    public bool Unmap(ulong pfn)
    {
        lock (_lock) return _frames.Remove(pfn);
    }

    public bool IsMapped(ulong pfn)
    {
        lock (_lock) return _frames.ContainsKey(pfn);
    }

    /// <summary>Copies <c>destination.Length</c> bytes from <paramref name="address"/>; false (nothing
    /// copied) if the range wraps the address space or touches an unmapped frame.</summary>
    public bool Read(ulong address, Span<byte> destination)
    {
        lock (_lock)
        {
            if (!AllMappedUnsynchronized(address, destination.Length)) return false;
            int done = 0;
            while (done < destination.Length)
            {
                ulong a = address + (ulong)done;
                int inPage = (int)(a & (PageSize - 1));
                int n = Math.Min(PageSize - inPage, destination.Length - done);
                _frames[a >> PageShift].Span.Slice(inPage, n).CopyTo(destination.Slice(done, n));
                done += n;
            }
            return true;
        }
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="address"/>; false (nothing
    /// written) if the range wraps the address space or touches an unmapped frame.</summary>
    public bool Write(ulong address, ReadOnlySpan<byte> source)
    {
        lock (_lock)
        {
            if (!AllMappedUnsynchronized(address, source.Length)) return false;
            int done = 0;
            while (done < source.Length)
            {
                ulong a = address + (ulong)done;
                int inPage = (int)(a & (PageSize - 1));
                int n = Math.Min(PageSize - inPage, source.Length - done);
                source.Slice(done, n).CopyTo(_frames[a >> PageShift].Span.Slice(inPage, n));
                done += n;
            }
            return true;
        }
    }

    /// <summary>The frames [first, last] an access of <paramref name="length"/> bytes at
    /// <paramref name="address"/> touches; false if it is empty or wraps the address space.</summary>
    internal static bool PageSpan(ulong address, int length, out ulong first, out ulong last)
    {
        first = address >> PageShift;
        last = first;
        if (length <= 0) return false;
        ulong end = address + (ulong)length - 1;
        if (end < address) return false;
        last = end >> PageShift;
        return true;
    }

    private bool AllMappedUnsynchronized(ulong address, int length)
    {
        if (length == 0) return true;
        if (!PageSpan(address, length, out ulong first, out ulong last)) return false;
        for (ulong p = first; p <= last; p++)
            if (!_frames.ContainsKey(p)) return false;
        return true;
    }
}
