// MAPDMA and UMAP conformance (thesis §3.3.2 "Direct Memory Access"; src/Kernel/System/DmaCalls.cs).
// A driver pins page-aligned arena memory with MAPDMA and gets a bus address; the frames there
// in Board.Memory ARE its arena pages (checked byte for byte in both directions). The rules:
// same region again answers the same address, an overlapping one EBUSY, bad arguments EINVAL,
// memory outside the arena EFAULT (counted as "buffer outside own arena"), at most eight
// regions (ENOSPC), no DMA memory ENODEV, no MAPDMA in the call mask ECALLDENIED. UMAP answers
// only for ranges lying inside one region the named process pinned. When a process dies its
// frames are unmapped before the exit is reported, and a frame some device's IOMMU domain
// still allows is not handed to anyone else until that domain is reset.
// Kernel calls are made raw with the puppet's "kcall CALL A B C" (three longs of payload), so
// the payload layouts are spelled out here: MapDmaRequest = {Offset, Length, BusAddress};
// UmapRequest = {Endpoint | Reserved << 32, BusAddress, Length, ArenaOffset}. The puppet's
// answer shows only A, B and C: UMAP's ArenaOffset (the fourth long) cannot be seen from here.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine;
using Bulkhead.Machine.Dma;

namespace Bulkhead.Kernel.Tests.Devices;

public sealed class DmaCallTests : IDisposable
{
    private const int Page = PhysicalMemory.PageSize;
    /// <summary>DmaCalls.MaxDmaBytes: the largest region one MAPDMA pins.</summary>
    private const long MaxDmaBytes = 1L << 20;
    private const int MaxDmaRegions = 8;

    private readonly Board _board = new();
    private readonly TestSystem _sys;

    public DmaCallTests() => _sys = new TestSystem(board: _board);

    public void Dispose() => _sys.Dispose();

    private Puppet Driver(string name, params int[] calls) =>
        _sys.StartPuppet(name, TestSystem.Privileges(calls: [KernelCall.MapDma, .. calls], flags: PrivilegeBlock.AllTargets));

    /// <summary>A page-aligned buffer of <paramref name="pages"/> pages in <paramref name="p"/>'s arena heap.</summary>
    private static long Buffer(Puppet p, int pages)
    {
        var a = p.Ask($"heap {(pages + 1) * Page}");
        Assert.StartsWith("r OK ", a);
        long at = Puppet.LongField(a, 2);
        return (at + Page - 1) / Page * Page;
    }

    private static string MapDma(Puppet p, long offset, long length) => p.Ask($"kcall {KernelCall.MapDma} {offset} {length}");

    private static string Umap(Puppet p, int endpoint, ulong bus, long length) =>
        p.Ask($"kcall {KernelCall.Umap} {endpoint} {(long)bus} {length}");

    /// <summary>Pins and checks the reply: OK from SYSTEM, Offset and Length echoed, a page-aligned
    /// non-zero bus address (frame 0 is never handed out). Returns the bus address.</summary>
    private static ulong Pin(Puppet p, long offset, long length)
    {
        var a = MapDma(p, offset, length);
        Assert.StartsWith("r OK ", a);
        Assert.Equal(Endpoint.System, Puppet.LongField(a, 2));
        Assert.Equal((offset, length), (Puppet.LongField(a, 4), Puppet.LongField(a, 5)));
        ulong bus = (ulong)Puppet.LongField(a, 6);
        Assert.True(bus != 0 && bus % Page == 0, $"bus address 0x{bus:x} is not a non-zero page address");
        return bus;
    }

    private static ulong Frame(ulong bus) => bus >> PhysicalMemory.PageShift;

    private static byte[] Pattern(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)(i * 13 + seed)).ToArray();

    private static string Peek(Puppet p, long offset, int length)
    {
        var a = p.Ask($"peek {offset} {length}");
        Assert.StartsWith("r OK ", a);
        return Puppet.Field(a, 2);
    }

    private byte[] ReadBus(ulong bus, int length)
    {
        var b = new byte[length];
        Assert.True(_board.Memory.Read(bus, b), $"bus 0x{bus:x}+{length} is not mapped");
        return b;
    }

    private static void WaitGone(TestSystem sys, Puppet p)
    {
        _ = p.AskAsync("crash exit 0");
        TestSystem.WaitUntil(() => sys.Find(p.Endpoint) is null, $"{p.Name} gone");
    }

    private void AssertDenials(long[] before, params (Denial What, int N)[] expected) => DenialAssert.Moved(_sys, before, expected);

    [Fact]
    public void MapDma_PinnedFramesAreTheArenaPages_BothWays()
    {
        var d = Driver("drv");
        long buf = Buffer(d, 3);
        int before = _board.Memory.MappedPages;
        ulong bus = Pin(d, buf, 3 * Page - 100); // rounded up to three whole pages
        Assert.Equal(before + 3, _board.Memory.MappedPages);
        for (ulong i = 0; i < 3; i++) Assert.True(_board.Memory.IsMapped(Frame(bus) + i), $"frame {i} not mapped");
        Assert.False(_board.Memory.IsMapped(Frame(bus) + 3));

        // The driver writes its arena; the bus sees the same bytes, across page boundaries too.
        byte[] across = Pattern(40, 1), last = Pattern(64, 7);
        Assert.Equal("r OK", d.Ask($"poke {buf + Page - 20} {Convert.ToHexString(across)}"));
        Assert.Equal("r OK", d.Ask($"poke {buf + 3 * Page - 64} {Convert.ToHexString(last)}"));
        Assert.Equal(across, ReadBus(bus + Page - 20, 40));
        Assert.Equal(last, ReadBus(bus + 3 * Page - 64, 64));
        // No copy: a later change of the arena shows at once.
        Assert.Equal("r OK", d.Ask($"poke {buf + Page} FFEE"));
        Assert.Equal(new byte[] { 0xFF, 0xEE }, ReadBus(bus + Page, 2));

        // The bus writes; the driver sees it in its arena, and nothing next to it changed.
        byte[] dma = Pattern(300, 99);
        Assert.True(_board.Memory.Write(bus + 2 * Page - 150, dma));
        Assert.Equal(Convert.ToHexString(dma), Peek(d, buf + 2 * Page - 150, 300));
        Assert.Equal(Convert.ToHexString(last), Peek(d, buf + 3 * Page - 64, 64));
        // The bytes past the region are not reachable on the bus.
        Assert.False(_board.Memory.Read(bus + 3 * Page - 1, new byte[2]));
    }

    [Fact]
    public void MapDma_SameRegionAgain_SameAddress_OverlapIsEbusy()
    {
        var d = Driver("drv");
        long buf = Buffer(d, 4);
        int before = _board.Memory.MappedPages;
        var denials = _sys.Kernel.Denials();
        ulong bus = Pin(d, buf + Page, 2 * Page);
        Assert.Equal(bus, Pin(d, buf + Page, 2 * Page));
        Assert.Equal(bus, Pin(d, buf + Page, 2 * Page - 1)); // the same two pages
        Assert.StartsWith("r EBUSY ", MapDma(d, buf + Page, Page));          // a part of it
        Assert.StartsWith("r EBUSY ", MapDma(d, buf + 2 * Page, 2 * Page));  // its second page and the next
        Assert.StartsWith("r EBUSY ", MapDma(d, buf, 2 * Page));             // the page before and its first
        Assert.StartsWith("r EBUSY ", MapDma(d, buf, 4 * Page));             // around it
        Assert.Equal(before + 2, _board.Memory.MappedPages);
        // Right next to it on either side is another region, at another address.
        ulong below = Pin(d, buf, Page), above = Pin(d, buf + 3 * Page, Page);
        Assert.Equal(3, new[] { bus, below, above }.Distinct().Count());
        Assert.Equal(before + 4, _board.Memory.MappedPages);
        AssertDenials(denials);
    }

    [Fact]
    public void MapDma_BadArguments_AreEinvalAndPinNothing()
    {
        var d = Driver("drv");
        long buf = Buffer(d, (int)(MaxDmaBytes / Page));
        int before = _board.Memory.MappedPages;
        var denials = _sys.Kernel.Denials();
        (long Offset, long Length)[] bad =
        [
            (buf + 16, Page),              // offset not page aligned
            (buf + Page / 2, Page),
            (buf, 0),                      // empty
            (buf, -Page),
            (-Page, Page),                 // negative offset
            (buf, MaxDmaBytes + 1),        // too large
            (buf, long.MaxValue),
        ];
        foreach (var (offset, length) in bad)
            Assert.True(MapDma(d, offset, length).StartsWith("r EINVAL ", StringComparison.Ordinal), $"MAPDMA {offset} {length}");
        Assert.Equal(before, _board.Memory.MappedPages);
        AssertDenials(denials);
        // The largest region is fine.
        ulong bus = Pin(d, buf, MaxDmaBytes);
        Assert.Equal(before + (int)(MaxDmaBytes / Page), _board.Memory.MappedPages);
        Assert.True(_board.Memory.IsMapped(Frame(bus) + (ulong)(MaxDmaBytes / Page) - 1));
    }

    [Fact]
    public void MapDma_OutsideTheArena_IsEfaultCountedAsMemoryOutsideArena()
    {
        var d = Driver("drv");
        long arena = new KernelOptions().DefaultArenaBytes; // what TestSystem's puppets get
        int before = _board.Memory.MappedPages;
        var denials = _sys.Kernel.Denials();
        Assert.StartsWith("r EFAULT ", MapDma(d, arena, Page));                // just past the end
        Assert.StartsWith("r EFAULT ", MapDma(d, arena - Page, 2 * Page));     // straddles the end
        Assert.StartsWith("r EFAULT ", MapDma(d, arena - Page, Page + 1));     // one byte over
        Assert.StartsWith("r EFAULT ", MapDma(d, 1L << 40, Page));             // far away
        AssertDenials(denials, (Denial.MemoryOutsideArena, 4));
        Assert.Equal(before, _board.Memory.MappedPages);
        // The arena's last page is its own.
        Pin(d, arena - Page, Page);
        Assert.Equal(before + 1, _board.Memory.MappedPages);
    }

    [Fact]
    public void MapDma_MoreThanEightRegions_IsEnospc()
    {
        var d = Driver("drv");
        long buf = Buffer(d, MaxDmaRegions + 1);
        int before = _board.Memory.MappedPages;
        var buses = Enumerable.Range(0, MaxDmaRegions).Select(i => Pin(d, buf + (long)i * Page, Page)).ToList();
        Assert.Equal(MaxDmaRegions, buses.Distinct().Count());
        Assert.StartsWith("r ENOSPC ", MapDma(d, buf + MaxDmaRegions * Page, Page));
        Assert.Equal(before + MaxDmaRegions, _board.Memory.MappedPages);
        // A region it already holds is still answered: that needs no new entry.
        Assert.Equal(buses[3], Pin(d, buf + 3 * Page, Page));
    }

    [Fact]
    public void MapDma_MachineWithoutDmaMemory_IsEnodev()
    {
        using var sys = new TestSystem(); // no board: no physical memory for DMA
        var d = sys.StartPuppet("drv", TestSystem.Privileges(calls: [KernelCall.MapDma], flags: PrivilegeBlock.AllTargets));
        long buf = Buffer(d, 1);
        Assert.StartsWith("r ENODEV ", MapDma(d, buf, Page));
    }

    [Fact]
    public void MapDmaAndUmap_NotInTheCallMask_AreEcalldenied()
    {
        var d = _sys.StartPuppet("nodma", TestSystem.Privileges(calls: [KernelCall.Umap], flags: PrivilegeBlock.AllTargets));
        var u = _sys.StartPuppet("noumap", TestSystem.Privileges(calls: [KernelCall.MapDma], flags: PrivilegeBlock.AllTargets));
        long buf = Buffer(d, 1), ubuf = Buffer(u, 1);
        ulong bus = Pin(u, ubuf, Page);
        int before = _board.Memory.MappedPages;
        var denials = _sys.Kernel.Denials();
        Assert.StartsWith("r ECALLDENIED ", MapDma(d, buf, Page));
        Assert.StartsWith("r ECALLDENIED ", Umap(u, u.Endpoint, bus, Page));
        AssertDenials(denials, (Denial.KernelCallNotAllowed, 2));
        Assert.Equal(before, _board.Memory.MappedPages);
    }

    [Fact]
    public void Umap_RangeInsideAnotherProcessesRegion_IsOk()
    {
        var d = Driver("drv");
        var iommu = Driver("iommu", KernelCall.Umap);
        long buf = Buffer(d, 3);
        Pin(d, buf, Page);
        ulong bus = Pin(d, buf + Page, 2 * Page);
        foreach (var (at, length) in new[] { (bus, 2L * Page), (bus + 100, 5000L), (bus + 2 * Page - 1, 1L), (bus + Page, (long)Page) })
        {
            var a = Umap(iommu, d.Endpoint, at, length);
            Assert.True(a.StartsWith("r OK ", StringComparison.Ordinal), $"UMAP 0x{at:x} {length}: {a}");
            Assert.Equal(Endpoint.System, Puppet.LongField(a, 2));
            Assert.Equal((d.Endpoint, (long)at, length), (Puppet.LongField(a, 4), Puppet.LongField(a, 5), Puppet.LongField(a, 6)));
            // Where that bus address lies in the driver's arena.
            long expected = (long)(at - bus) + buf + Page;
            Assert.Equal($"r OK {expected}", iommu.Ask($"umap {d.Endpoint} {at} {length}"));
        }
        // A process may ask about its own memory too.
        ulong own = Pin(iommu, Buffer(iommu, 1), Page);
        Assert.StartsWith("r OK ", Umap(iommu, iommu.Endpoint, own + 10, 10));
    }

    [Fact]
    public void Umap_RangeNotPinnedOrPartlyPinnedOrSomeoneElses_IsRefused()
    {
        var a = Driver("a");
        var b = Driver("b");
        var iommu = Driver("iommu", KernelCall.Umap);
        ulong busA = Pin(a, Buffer(a, 2), 2 * Page);
        ulong busB = Pin(b, Buffer(b, 1), Page);
        Assert.StartsWith("r OK ", Umap(iommu, b.Endpoint, busB, Page));
        (ulong Bus, long Length, string Why)[] efault =
        [
            (busA + 2 * Page, 1, "just past the region"),
            (busA + 64UL * Page, Page, "nothing pinned there"),
            (busA + Page, 2 * Page, "runs past the end"),
            (busA - 1, 2, "starts before it"),
            (busA + 2 * Page - 1, 2, "last byte and one more"),
            (busB, 1, "b's memory, not a's"),
        ];
        foreach (var (bus, length, why) in efault)
        {
            var r = Umap(iommu, a.Endpoint, bus, length);
            Assert.True(r.StartsWith("r EFAULT ", StringComparison.Ordinal), $"{why}: {r}");
        }
        (ulong Bus, long Length)[] einval = [(busA, 0), (busA, -1), (busA, MaxDmaBytes + 1), (ulong.MaxValue - 10, 100)];
        foreach (var (bus, length) in einval)
        {
            var r = Umap(iommu, a.Endpoint, bus, length);
            Assert.True(r.StartsWith("r EINVAL ", StringComparison.Ordinal), $"UMAP 0x{bus:x} {length}: {r}");
        }
    }

    [Fact]
    public void Umap_DeadOrUnknownEndpoint_IsEdeadsrcdstCountedAsInvalidDestination()
    {
        var d = Driver("drv");
        var iommu = Driver("iommu", KernelCall.Umap);
        ulong bus = Pin(d, Buffer(d, 1), Page);
        Assert.StartsWith("r OK ", Umap(iommu, d.Endpoint, bus, Page));
        WaitGone(_sys, d);
        var denials = _sys.Kernel.Denials();
        Assert.StartsWith("r EDEADSRCDST ", Umap(iommu, d.Endpoint, bus, Page));
        Assert.StartsWith("r EDEADSRCDST ", Umap(iommu, Endpoint.Make(3, 40), bus, Page)); // a slot never used
        AssertDenials(denials, (Denial.InvalidDestination, 2));
    }

    [Fact]
    public void Exit_FramesAreUnmappedBeforeTheExitIsReported()
    {
        var d = Driver("drv");
        long buf = Buffer(d, 3);
        int before = _board.Memory.MappedPages;
        ulong bus1 = Pin(d, buf, 2 * Page), bus2 = Pin(d, buf + 2 * Page, Page);
        ulong[] frames = [Frame(bus1), Frame(bus1) + 1, Frame(bus2)];
        // A device whose domain allows all three frames reaches the driver's arena through the IOMMU.
        const ushort Dev = 0x18; // 00:03.0
        var port = _board.Iommu.Port(Dev);
        foreach (ulong f in frames) Assert.True(_board.Iommu.Allow(Dev, f));
        Assert.True(port.Write(bus1 + Page - 2, new byte[] { 1, 2, 3, 4 }));
        Assert.Equal("01020304", Peek(d, buf + Page - 2, 4));

        var atExit = new TaskCompletionSource<(bool AnyMapped, int Mapped)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _sys.Kernel.KernelChildExited += e =>
        {
            if (e.Endpoint == d.Endpoint) atExit.TrySetResult((frames.Any(_board.Memory.IsMapped), _board.Memory.MappedPages));
        };
        _ = d.AskAsync("crash exit 0");
        Assert.True(atExit.Task.Wait(20_000), "exit not reported");
        Assert.Equal((false, before), atExit.Task.Result);

        // The device, still allowed by its domain, now gets a bus abort and moves nothing.
        long denied = _board.Iommu.Denied(Dev);
        Assert.False(port.Write(bus1, new byte[] { 9 }));
        Assert.False(port.Read(bus2, new byte[1]));
        Assert.Equal(denied + 2, _board.Iommu.Denied(Dev));
    }

    [Fact]
    public void Reuse_FrameADomainStillAllows_IsNotHandedOutUntilTheDomainIsReset()
    {
        var a = Driver("a");
        var b = Driver("b");
        ulong busA = Pin(a, Buffer(a, 2), 2 * Page);
        ulong f0 = Frame(busA), f1 = f0 + 1;
        const ushort Dev0 = 0x18, Dev1 = 0x20; // 00:03.0 and 00:04.0
        Assert.True(_board.Iommu.Allow(Dev0, f0));
        Assert.True(_board.Iommu.Allow(Dev1, f1));
        WaitGone(_sys, a);
        Assert.False(_board.Memory.IsMapped(f0) || _board.Memory.IsMapped(f1));

        long buf = Buffer(b, 6);
        var held = new List<ulong>();
        void PinB(int slot, int pages)
        {
            ulong bus = Pin(b, buf + (long)slot * Page, (long)pages * Page);
            for (int i = 0; i < pages; i++) held.Add(Frame(bus) + (ulong)i);
        }

        // Both of a's frames are still reachable by a device: b gets neither.
        PinB(0, 2);
        PinB(2, 1);
        Assert.DoesNotContain(f0, held);
        Assert.DoesNotContain(f1, held);
        Assert.False(_board.Memory.IsMapped(f0) || _board.Memory.IsMapped(f1));

        // Dev0's domain is reset: f0 is free again (first fit hands it out next); f1 is not.
        _board.Iommu.Reset(Dev0);
        ulong reused = Pin(b, buf + 3 * Page, Page);
        Assert.Equal(f0, Frame(reused));
        PinB(4, 1);
        Assert.DoesNotContain(f1, held);
        Assert.False(_board.Memory.IsMapped(f1));
        // The reused frame is b's page now, not a's.
        Assert.Equal("r OK", b.Ask($"poke {buf + 3 * Page} C0FFEE"));
        Assert.Equal(new byte[] { 0xC0, 0xFF, 0xEE }, ReadBus(reused, 3));

        _board.Iommu.Reset(Dev1);
        Assert.Equal(f1, Frame(Pin(b, buf + 5 * Page, Page)));
    }
}
