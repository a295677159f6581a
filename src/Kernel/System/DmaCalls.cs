// MAPDMA and UMAP (thesis §3.3.2, "Direct Memory Access"). A driver that wants DMA pins a
// page-aligned region of its own arena with MAPDMA; the kernel backs a run of contiguous page
// frames of the machine's "physical memory" with those very arena pages (no copy: the device
// and the driver see the same bytes) and answers the bus address. A device still reaches the
// frames only where the trusted IOMMU driver allowed it, and that driver first checks with
// UMAP that the frames are the requesting driver's own pinned memory.
// Rules: regions are page aligned, at most MaxDmaRegions per process and MaxDmaBytes each;
// pinning the same region again answers the same address, an overlapping one is refused.
// When a process dies its frames are unmapped before its arena is released, so a device can
// never write into freed memory; and a frame is handed out again only once no device's IOMMU
// domain still allows it (the IOMMU driver resets the dead driver's domain), so a late DMA of
// a dead driver's device can never hit another process's memory.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Dma;

namespace Bulkhead.Kernel;

/// <summary>Arena bytes [Offset, Offset + Pages pages) of a process, pinned at frames [FirstFrame, +Pages).</summary>
internal readonly record struct DmaRegion(long Offset, int Pages, ulong FirstFrame)
{
    public ulong BusAddress => FirstFrame << PhysicalMemory.PageShift;

    public bool HoldsFrames(ulong first, ulong last) => first >= FirstFrame && last < FirstFrame + (ulong)Pages;
}

public sealed partial class Kernel
{
    private const int MaxDmaRegions = 8;
    private const long MaxDmaBytes = 1L << 20;

    private ulong[]? _framesInUse; // bit per frame number 0..DmaFrames; frame 0 is never handed out

    private int DoMapDma(Proc caller, ref Message m)
    {
        if (_opt.DmaMemory is not { } memory) return Err.ENODEV;
        var req = m.As<MapDmaRequest>();
        if (req.Offset < 0 || req.Offset % PhysicalMemory.PageSize != 0 || req.Length <= 0 || req.Length > MaxDmaBytes)
            return Err.EINVAL;
        if (!caller.Arena!.Contains(req.Offset, req.Length)) return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        int pages = (int)((req.Length + PhysicalMemory.PageSize - 1) / PhysicalMemory.PageSize);
        if (!caller.Arena.Contains(req.Offset, (long)pages * PhysicalMemory.PageSize)) return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        long end = req.Offset + (long)pages * PhysicalMemory.PageSize;
        foreach (var r in caller.Dma)
        {
            if (r.Offset == req.Offset && r.Pages == pages)
            {
                m = Message.Of(0, new MapDmaRequest { Offset = req.Offset, Length = req.Length, BusAddress = r.BusAddress });
                return Err.Ok;
            }
            if (req.Offset < r.Offset + (long)r.Pages * PhysicalMemory.PageSize && r.Offset < end) return Err.EBUSY;
        }
        if (caller.Dma.Count >= MaxDmaRegions) return Err.ENOSPC;
        if (!AllocateFrames(pages, out ulong first)) return Err.ENOMEM;
        for (int i = 0; i < pages; i++)
        {
            if (memory.Map(first + (ulong)i, caller.Arena.PageMemory(req.Offset + (long)i * PhysicalMemory.PageSize, PhysicalMemory.PageSize)))
                continue;
            for (int j = 0; j < i; j++) memory.Unmap(first + (ulong)j);
            FreeFrames(first, pages);
            return Err.ENOMEM;
        }
        var region = new DmaRegion(req.Offset, pages, first);
        caller.Dma.Add(region);
        m = Message.Of(0, new MapDmaRequest { Offset = req.Offset, Length = req.Length, BusAddress = region.BusAddress });
        return Err.Ok;
    }

    private int DoUmap(Proc caller, ref Message m)
    {
        var req = m.As<UmapRequest>();
        var target = ProcOf(req.Endpoint);
        if (target is null) return Refused(caller, Denial.InvalidDestination, Err.EDEADSRCDST);
        if (req.Length <= 0 || req.Length > MaxDmaBytes || req.BusAddress > ulong.MaxValue - (ulong)req.Length) return Err.EINVAL;
        ulong first = req.BusAddress >> PhysicalMemory.PageShift;
        ulong last = (req.BusAddress + (ulong)req.Length - 1) >> PhysicalMemory.PageShift;
        foreach (var r in target.Dma)
        {
            if (!r.HoldsFrames(first, last)) continue;
            long offset = r.Offset + (long)(req.BusAddress - r.BusAddress);
            m = Message.Of(0, new UmapRequest { Endpoint = req.Endpoint, BusAddress = req.BusAddress, Length = req.Length, ArenaOffset = offset });
            return Err.Ok;
        }
        return Err.EFAULT;
    }

    /// <summary>Unmaps every frame <paramref name="p"/> pinned (before its arena goes away).</summary>
    private void ReleaseDma(Proc p)
    {
        if (_opt.DmaMemory is { } memory)
        {
            foreach (var r in p.Dma)
            {
                for (int i = 0; i < r.Pages; i++) memory.Unmap(r.FirstFrame + (ulong)i);
                FreeFrames(r.FirstFrame, r.Pages);
            }
        }
        p.Dma.Clear();
    }

    /// <summary>First fit over frames 1..DmaFrames, skipping frames some device may still reach.</summary>
    private bool AllocateFrames(int pages, out ulong first)
    {
        int limit = Math.Max(0, _opt.DmaFrames);
        _framesInUse ??= new ulong[limit / 64 + 1];
        int run = 0;
        for (int f = 1; f <= limit; f++)
        {
            bool usable = !Bits.Test(_framesInUse, f) && _opt.Iommu?.AnyDeviceAllows((ulong)f) != true;
            run = usable ? run + 1 : 0;
            if (run < pages) continue;
            first = (ulong)(f - pages + 1);
            for (int i = 0; i < pages; i++) Bits.Set(_framesInUse, (int)first + i);
            return true;
        }
        first = 0;
        return false;
    }

    private void FreeFrames(ulong first, int pages)
    {
        if (_framesInUse is null) return;
        for (int i = 0; i < pages; i++) Bits.Clear(_framesInUse, (int)first + i);
    }
}
