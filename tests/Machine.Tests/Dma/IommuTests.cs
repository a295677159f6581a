// PhysicalMemory and the DEV-style Iommu: page mapping, accesses across page boundaries,
// per-device permission bitmaps, refused accesses that transfer nothing and are counted,
// Reset revoking everything, and the bounds of both tables.
using Bulkhead.Machine.Dma;
using Xunit;

namespace Bulkhead.Machine.Tests.Dma;

public sealed class IommuTests
{
    private const int Page = PhysicalMemory.PageSize;
    private const ushort DevA = 0x0018, DevB = 0x0020;

    private static (PhysicalMemory Memory, byte[][] Pages) MapPages(int count, int maxPages = 64)
    {
        var memory = new PhysicalMemory(maxPages);
        var pages = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            pages[i] = new byte[Page];
            Assert.True(memory.Map((ulong)i, pages[i]));
        }
        return (memory, pages);
    }

    [Fact]
    public void Map_WrongSizeDuplicateOrFull_Refused()
    {
        var memory = new PhysicalMemory(2);
        Assert.False(memory.Map(0, new byte[100]));
        Assert.True(memory.Map(0, new byte[Page]));
        Assert.False(memory.Map(0, new byte[Page]));
        Assert.True(memory.Map(7, new byte[Page]));
        Assert.False(memory.Map(8, new byte[Page]));
        Assert.True(memory.Unmap(0));
        Assert.False(memory.Unmap(0));
        Assert.Equal(1, memory.MappedPages);
    }

    [Fact]
    public void ReadWrite_AcrossPageBoundary_ReachesBothPages()
    {
        var (memory, pages) = MapPages(2);
        var data = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        Assert.True(memory.Write(Page - 8, data));
        Assert.Equal(data[..8], pages[0][^8..]);
        Assert.Equal(data[8..], pages[1][..8]);
        var back = new byte[16];
        Assert.True(memory.Read(Page - 8, back));
        Assert.Equal(data, back);
    }

    [Fact]
    public void Write_TouchingUnmappedPage_WritesNothing()
    {
        var (memory, pages) = MapPages(1);
        Assert.False(memory.Write(Page - 4, new byte[8] { 1, 2, 3, 4, 5, 6, 7, 8 }));
        Assert.All(pages[0], b => Assert.Equal(0, b));
        Assert.False(memory.Read(ulong.MaxValue - 2, new byte[8]));
        Assert.True(memory.Read(Page * 5, Span<byte>.Empty));
    }

    [Fact]
    public void Port_OnlyAllowedPages_AreReachable()
    {
        var (memory, pages) = MapPages(4);
        var iommu = new Iommu(memory, maxDevices: 4, pageLimit: 64);
        var port = iommu.Port(DevA);
        Assert.True(iommu.Allow(DevA, 1));

        Assert.True(port.Write(Page + 10, new byte[] { 0xAA, 0xBB }));
        Assert.Equal(0xAA, pages[1][10]);
        Assert.False(port.Write(2 * Page, new byte[] { 1 }));
        Assert.False(port.Write(2 * Page - 1, new byte[] { 1, 2 })); // straddles into page 2
        Assert.Equal(0, pages[1][Page - 1]);
        Assert.All(pages[2], b => Assert.Equal(0, b));
        var buf = new byte[2];
        Assert.False(port.Read(0, buf));
        Assert.Equal(3, iommu.Denied(DevA));

        Assert.True(iommu.Allow(DevA, 2));
        Assert.True(port.Write(2 * Page - 1, new byte[] { 1, 2 }));
        Assert.Equal(1, pages[1][Page - 1]);
        Assert.Equal(2, pages[2][0]);
    }

    [Fact]
    public void Port_OtherDevicesPages_Denied()
    {
        var (memory, pages) = MapPages(4);
        var iommu = new Iommu(memory, 4, 64);
        var a = iommu.Port(DevA);
        var b = iommu.Port(DevB);
        Assert.True(iommu.Allow(DevA, 3));
        Assert.False(b.Write(3 * Page, new byte[] { 9 }));
        Assert.Equal(0, pages[3][0]);
        Assert.Equal(1, iommu.Denied(DevB));
        Assert.Equal(0, iommu.Denied(DevA));
        Assert.True(a.Write(3 * Page, new byte[] { 9 }));
    }

    [Fact]
    public void Revoke_OnePage_OthersStay()
    {
        var (memory, _) = MapPages(4);
        var iommu = new Iommu(memory, 4, 64);
        var port = iommu.Port(DevA);
        iommu.Allow(DevA, 0);
        iommu.Allow(DevA, 1);
        Assert.True(iommu.Revoke(DevA, 0));
        Assert.False(iommu.Revoke(DevA, 0));
        Assert.False(port.Read(0, new byte[1]));
        Assert.True(port.Read(Page, new byte[1]));
    }

    [Fact]
    public void Reset_RevokesEverything_KeepsDeniedCount()
    {
        var (memory, pages) = MapPages(8);
        var iommu = new Iommu(memory, 4, 64);
        var port = iommu.Port(DevA);
        for (ulong p = 0; p < 8; p++) Assert.True(iommu.Allow(DevA, p));
        Assert.False(port.Write(8 * Page, new byte[1]));
        iommu.Reset(DevA);
        for (ulong p = 0; p < 8; p++)
        {
            Assert.False(iommu.IsAllowed(DevA, p));
            Assert.False(port.Write(p * Page, new byte[] { 7 }));
        }
        Assert.All(pages, page => Assert.All(page, b => Assert.Equal(0, b)));
        Assert.Equal(9, iommu.Denied(DevA));
        Assert.True(iommu.Allow(DevA, 0)); // a restarted driver's device may be programmed again
        Assert.True(port.Write(0, new byte[] { 7 }));
    }

    [Fact]
    public void AllowedButUnmapped_DeniedAndCounted()
    {
        var (memory, _) = MapPages(1);
        var iommu = new Iommu(memory, 4, 64);
        var port = iommu.Port(DevA);
        Assert.True(iommu.Allow(DevA, 5));
        Assert.False(port.Read(5 * Page, new byte[4]));
        Assert.Equal(1, iommu.Denied(DevA));
    }

    [Fact]
    public void Bounds_PageLimitAndDeviceTable_Enforced()
    {
        var (memory, _) = MapPages(1);
        var iommu = new Iommu(memory, maxDevices: 2, pageLimit: 16);
        Assert.False(iommu.Allow(DevA, 16));
        Assert.True(iommu.Allow(DevA, 15));
        Assert.True(iommu.Allow(DevB, 0));
        Assert.False(iommu.Allow(0x0030, 0));
        Assert.Throws<InvalidOperationException>(() => iommu.Port(0x0030));
        var port = iommu.Port(DevA);
        Assert.False(port.Read(ulong.MaxValue - 1, new byte[4])); // wraps the address space
    }
}
