// The IOMMU, modelled on AMD's Device Exclusion Vector (thesis §3.3.2): for every bus-master
// device (named by its PCI requester id, bus<<8 | device<<3 | function) a bitmap with one bit
// per page frame says whether the device may touch that frame. Interface: Allow/Revoke one
// frame, Reset a device (all its frames revoked; the kernel calls it when the device's driver
// dies), Port(deviceId) for the device model's IDmaPort, Denied(deviceId) for the number of
// refused accesses (reported as Fig. 5.5's "DMA outside own buffers"). Rules: an access is
// checked against every frame it touches before PhysicalMemory is touched, so a refused access
// transfers nothing; addresses are not translated (DEV only excludes). Bounded: at most
// maxDevices devices and frames below pageLimit; the range calls (AllowRange, RevokeRange,
// IsRangeAllowed, for the IommuController's batches) take at most MaxRange frames, and
// AllowRange is all-or-nothing. AnyDeviceAllows(pfn) tells the kernel whether some device may
// still reach a frame, so it never reuses one a device can write. One lock covers the check and
// the copy, so once Revoke or Reset returns the device can no longer reach the frame.
namespace Bulkhead.Machine.Dma;

public sealed class Iommu
{
    /// <summary>The most frames one range call covers (16 MiB), so a batch under the lock is bounded.</summary>
    public const int MaxRange = 4096;

    private readonly object _lock = new();
    private readonly PhysicalMemory _memory;
    private readonly int _maxDevices;
    private readonly ulong _pageLimit;
    private readonly Dictionary<ushort, Entry> _devices = []; // guarded by _lock

    private sealed class Entry
    {
        public ulong[]? Bitmap; // allocated at the first Allow
        public long Denied;
    }

    /// <param name="memory">the physical memory devices reach through this IOMMU</param>
    /// <param name="maxDevices">the size of the device table</param>
    /// <param name="pageLimit">frames at or above this number are never allowed</param>
    public Iommu(PhysicalMemory memory, int maxDevices, ulong pageLimit)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDevices);
        if (pageLimit == 0 || pageLimit > 1UL << 24) throw new ArgumentOutOfRangeException(nameof(pageLimit));
        _memory = memory;
        _maxDevices = maxDevices;
        _pageLimit = pageLimit;
    }

    public ulong PageLimit => _pageLimit;

    /// <summary>Lets <paramref name="deviceId"/> read and write frame <paramref name="pfn"/>; false if
    /// the frame is beyond the bitmap or the device table is full.</summary>
    public bool Allow(ushort deviceId, ulong pfn)
    {
        if (pfn >= _pageLimit) return false;
        lock (_lock)
        {
            var e = GetOrAddUnsynchronized(deviceId);
            if (e == null) return false;
            e.Bitmap ??= new ulong[(_pageLimit + 63) / 64];
            e.Bitmap[pfn >> 6] |= 1UL << (int)(pfn & 63);
            return true;
        }
    }

    /// <summary>Withdraws frame <paramref name="pfn"/> from <paramref name="deviceId"/>; false if it was not allowed.</summary>
    public bool Revoke(ushort deviceId, ulong pfn)
    {
        if (pfn >= _pageLimit) return false;
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out var e) || e.Bitmap == null) return false;
            ulong bit = 1UL << (int)(pfn & 63);
            if ((e.Bitmap[pfn >> 6] & bit) == 0) return false;
            e.Bitmap[pfn >> 6] &= ~bit;
            return true;
        }
    }

    /// <summary>Withdraws every frame from <paramref name="deviceId"/>; its Denied count is kept.</summary>
    public void Reset(ushort deviceId)
    {
        lock (_lock)
        {
            if (_devices.TryGetValue(deviceId, out var e)) e.Bitmap = null;
        }
    }

    /// <summary>True if [<paramref name="firstPfn"/>, firstPfn+<paramref name="count"/>) is a range
    /// the range calls accept: 1 to MaxRange frames, all below PageLimit.</summary>
    public bool IsValidRange(ulong firstPfn, int count) =>
        count >= 1 && count <= MaxRange && firstPfn < _pageLimit && (ulong)count <= _pageLimit - firstPfn;

    /// <summary>Lets <paramref name="deviceId"/> reach every frame of the range, or none: false
    /// (nothing changed) if the range is invalid or the device table is full.</summary>
    public bool AllowRange(ushort deviceId, ulong firstPfn, int count)
    {
        if (!IsValidRange(firstPfn, count)) return false;
        lock (_lock)
        {
            var e = GetOrAddUnsynchronized(deviceId);
            if (e == null) return false;
            e.Bitmap ??= new ulong[(_pageLimit + 63) / 64];
            for (ulong p = firstPfn; p < firstPfn + (ulong)count; p++) e.Bitmap[p >> 6] |= 1UL << (int)(p & 63);
            return true;
        }
    }

    /// <summary>Withdraws every frame of the range from <paramref name="deviceId"/> (frames it was
    /// not allowed are fine); false (nothing changed) only if the range is invalid.</summary>
    public bool RevokeRange(ushort deviceId, ulong firstPfn, int count)
    {
        if (!IsValidRange(firstPfn, count)) return false;
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out var e) || e.Bitmap == null) return true;
            for (ulong p = firstPfn; p < firstPfn + (ulong)count; p++) e.Bitmap[p >> 6] &= ~(1UL << (int)(p & 63));
            return true;
        }
    }

    /// <summary>True if the range is valid and <paramref name="deviceId"/> may reach every frame of it.</summary>
    public bool IsRangeAllowed(ushort deviceId, ulong firstPfn, int count)
    {
        if (!IsValidRange(firstPfn, count)) return false;
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out var e) || e.Bitmap == null) return false;
            for (ulong p = firstPfn; p < firstPfn + (ulong)count; p++)
                if ((e.Bitmap[p >> 6] & (1UL << (int)(p & 63))) == 0) return false;
            return true;
        }
    }

    /// <summary>True if some device may reach frame <paramref name="pfn"/>: the kernel must not
    /// hand the frame to anyone else until this is false. Bounded by the device table's size.</summary>
    public bool AnyDeviceAllows(ulong pfn)
    {
        if (pfn >= _pageLimit) return false;
        ulong bit = 1UL << (int)(pfn & 63);
        lock (_lock)
        {
            foreach (var e in _devices.Values)
                if (e.Bitmap != null && (e.Bitmap[pfn >> 6] & bit) != 0) return true;
            return false;
        }
    }

    public bool IsAllowed(ushort deviceId, ulong pfn)
    {
        if (pfn >= _pageLimit) return false;
        lock (_lock)
            return _devices.TryGetValue(deviceId, out var e) && e.Bitmap != null
                && (e.Bitmap[pfn >> 6] & (1UL << (int)(pfn & 63))) != 0;
    }

    /// <summary>How many page frames <paramref name="deviceId"/> may reach now.</summary>
    public int AllowedFrames(ushort deviceId)
    {
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out var e) || e.Bitmap == null) return 0;
            int n = 0;
            foreach (ulong word in e.Bitmap) n += System.Numerics.BitOperations.PopCount(word);
            return n;
        }
    }

    /// <summary>Refused accesses of every device so far.</summary>
    public long TotalDenied
    {
        get
        {
            lock (_lock)
            {
                long sum = 0;
                foreach (var e in _devices.Values) sum += e.Denied;
                return sum;
            }
        }
    }

    /// <summary>Refused accesses by <paramref name="deviceId"/> so far.</summary>
    public long Denied(ushort deviceId)
    {
        lock (_lock) return _devices.TryGetValue(deviceId, out var e) ? e.Denied : 0;
    }

    /// <summary>The DMA port for the device model of <paramref name="deviceId"/>; registers the
    /// device. Throws if the device table is full (a boot configuration error).</summary>
    public IDmaPort Port(ushort deviceId)
    {
        lock (_lock)
        {
            if (GetOrAddUnsynchronized(deviceId) == null)
                throw new InvalidOperationException($"IOMMU device table full ({_maxDevices} devices)");
        }
        return new IommuPort(this, deviceId);
    }

    internal bool Access(ushort deviceId, ulong address, Span<byte> readInto, ReadOnlySpan<byte> writeFrom, bool write)
    {
        int length = write ? writeFrom.Length : readInto.Length;
        if (length == 0) return true;
        lock (_lock)
        {
            var e = GetOrAddUnsynchronized(deviceId);
            if (e == null) return false;
            if (!AllowedUnsynchronized(e, address, length))
            {
                e.Denied++;
                return false;
            }
            bool ok = write ? _memory.Write(address, writeFrom) : _memory.Read(address, readInto);
            if (!ok) e.Denied++; // allowed but unmapped: the bus aborts it all the same
            return ok;
        }
    }

    private bool AllowedUnsynchronized(Entry e, ulong address, int length)
    {
        if (e.Bitmap == null) return false;
        if (!PhysicalMemory.PageSpan(address, length, out ulong first, out ulong last)) return false;
        if (last >= _pageLimit) return false;
        for (ulong p = first; p <= last; p++)
            if ((e.Bitmap[p >> 6] & (1UL << (int)(p & 63))) == 0) return false;
        return true;
    }

    private Entry? GetOrAddUnsynchronized(ushort deviceId)
    {
        if (_devices.TryGetValue(deviceId, out var e)) return e;
        if (_devices.Count >= _maxDevices) return null;
        e = new Entry();
        _devices.Add(deviceId, e);
        return e;
    }
}
