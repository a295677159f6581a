// IommuController driven through the port space the way the IOMMU driver drives it: ALLOW,
// QUERY, REVOKE and RESET and their effect on real DMA (an Iommu port, and an RTL8139
// receiving into its ring); batches that are all-or-nothing; refused commands (bad COUNT,
// ranges past the page limit or wrapping, a full device table, unknown commands) that change
// nothing; the DENIED register; register widths; and Iommu.AnyDeviceAllows.
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;
using Xunit;
using static Bulkhead.Machine.Devices.Rtl8139.Rtl8139Registers;

namespace Bulkhead.Machine.Tests;

public sealed class IommuControllerTests
{
    private const int Page = PhysicalMemory.PageSize;
    private const ushort DevA = 0x0018, DevB = 0x0020;
    private const int R = Board.IommuPorts;

    private sealed class Line : IIrqLine
    {
        public int Number => 11;
        public void Set(bool asserted) { }
    }

    /// <summary>A board whose frames 0–63 are mapped.</summary>
    private static (Board Board, byte[][] Pages) MappedBoard(int maxDmaDevices = 32)
    {
        var board = new Board(maxFrames: 64, maxDmaDevices: maxDmaDevices);
        var pages = new byte[64][];
        for (int i = 0; i < pages.Length; i++)
        {
            pages[i] = new byte[Page];
            Assert.True(board.Memory.Map((ulong)i, pages[i]));
        }
        return (board, pages);
    }

    /// <summary>Programs DEVICE, FRAME, COUNT, writes COMMAND and returns STATUS.</summary>
    private static uint Command(IoSpace io, ushort device, uint frame, uint count, uint command)
    {
        io.Write(R + IommuController.DeviceOffset, 4, device);
        io.Write(R + IommuController.FrameOffset, 4, frame);
        io.Write(R + IommuController.CountOffset, 4, count);
        io.Write(R + IommuController.CommandOffset, 4, command);
        return io.Read(R + IommuController.StatusOffset, 4);
    }

    private static uint Denied(IoSpace io, ushort device)
    {
        io.Write(R + IommuController.DeviceOffset, 4, device);
        return io.Read(R + IommuController.DeniedOffset, 4);
    }

    [Fact]
    public void Allow_ThroughPorts_DmaReachesExactlyThoseFrames()
    {
        var (board, pages) = MappedBoard();
        var port = board.Iommu.Port(DevA);
        Assert.False(port.Write(5 * Page, new byte[] { 1 }));

        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 5, 2, IommuController.CommandAllow));
        Assert.True(port.Write(6 * Page - 4, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 })); // spans frames 5 and 6
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, pages[5][^4..]);
        Assert.Equal(new byte[] { 5, 6, 7, 8 }, pages[6][..4]);
        Assert.False(port.Write(7 * Page, new byte[] { 9 }));
        Assert.False(port.Write(5 * Page - 1, new byte[] { 9, 9 }));
        Assert.Equal(0, pages[7][0]);
        Assert.Equal(0, pages[4][^1]);
        Assert.False(board.Iommu.Port(DevB).Read(5 * Page, new byte[1])); // only DevA

        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 5, 2, IommuController.CommandQuery));
        Assert.Equal(IommuController.StatusNotAllowed, Command(board.Io, DevA, 5, 3, IommuController.CommandQuery));
        Assert.Equal(IommuController.StatusNotAllowed, Command(board.Io, DevA, 4, 2, IommuController.CommandQuery));
        Assert.Equal(IommuController.StatusNotAllowed, Command(board.Io, DevB, 5, 1, IommuController.CommandQuery));
    }

    [Fact]
    public void Revoke_ThroughPorts_StopsDmaToThoseFramesOnly()
    {
        var (board, pages) = MappedBoard();
        var port = board.Iommu.Port(DevA);
        Assert.Equal(0u, Command(board.Io, DevA, 5, 4, IommuController.CommandAllow));
        Assert.Equal(0u, Command(board.Io, DevA, 6, 2, IommuController.CommandRevoke));

        Assert.True(port.Write(5 * Page, new byte[] { 1 }));
        Assert.False(port.Write(6 * Page, new byte[] { 2 }));
        Assert.False(port.Write(7 * Page, new byte[] { 3 }));
        Assert.True(port.Write(8 * Page, new byte[] { 4 }));
        Assert.Equal(0, pages[6][0]);
        Assert.Equal(0, pages[7][0]);
        Assert.Equal(IommuController.StatusNotAllowed, Command(board.Io, DevA, 5, 4, IommuController.CommandQuery));
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 8, 1, IommuController.CommandQuery));

        // Revoking frames that were never allowed, or for a device never seen, is done.
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 20, 4, IommuController.CommandRevoke));
        Assert.Equal(IommuController.StatusDone, Command(board.Io, 0x0700, 5, 4, IommuController.CommandRevoke));
        Assert.True(board.Iommu.IsAllowed(DevA, 5));
    }

    [Fact]
    public void Reset_ThroughPorts_WithdrawsEveryFrame_KeepsDeniedAndOtherDevices()
    {
        var (board, _) = MappedBoard();
        var a = board.Iommu.Port(DevA);
        var b = board.Iommu.Port(DevB);
        Assert.Equal(0u, Command(board.Io, DevA, 2, 2, IommuController.CommandAllow));
        Assert.Equal(0u, Command(board.Io, DevA, 40, 8, IommuController.CommandAllow));
        Assert.Equal(0u, Command(board.Io, DevB, 10, 1, IommuController.CommandAllow));
        Assert.False(a.Write(9 * Page, new byte[] { 1 }));
        Assert.Equal(1u, Denied(board.Io, DevA));

        // FRAME and COUNT are ignored by RESET, even when they would be refused.
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 0xFFFF_FFFF, 0, IommuController.CommandReset));
        Assert.Equal(IommuController.StatusNotAllowed, Command(board.Io, DevA, 2, 1, IommuController.CommandQuery));
        Assert.Equal(IommuController.StatusNotAllowed, Command(board.Io, DevA, 47, 1, IommuController.CommandQuery));
        Assert.False(a.Write(2 * Page, new byte[] { 1 }));
        Assert.False(a.Read(40 * Page, new byte[1]));
        Assert.Equal(3u, Denied(board.Io, DevA));
        Assert.True(b.Write(10 * Page, new byte[] { 1 }));
        Assert.Equal(0u, Denied(board.Io, DevB));
    }

    [Fact]
    public void AllowBatch_CrossingThePageLimit_AllowsNothing()
    {
        var (board, _) = MappedBoard();
        uint last = (uint)board.Iommu.PageLimit - 1;
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevA, last - 1, 4, IommuController.CommandAllow));
        Assert.False(board.Iommu.IsAllowed(DevA, last - 1));
        Assert.False(board.Iommu.IsAllowed(DevA, last));
        Assert.False(board.Iommu.AnyDeviceAllows(last));
        Assert.Equal(IommuController.StatusNotAllowed, Command(board.Io, DevA, last - 1, 2, IommuController.CommandQuery));

        // The same batch ending exactly at the limit is fine.
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, last - 1, 2, IommuController.CommandAllow));
        Assert.True(board.Iommu.IsAllowed(DevA, last));
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevA, last + 1, 1, IommuController.CommandAllow));
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevA, 0xFFFF_FFFF, 4096, IommuController.CommandAllow));
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevA, 0xFFFF_FFFF, 1, IommuController.CommandQuery));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(4097u)]
    [InlineData(0x8000_0000u)]
    [InlineData(0xFFFF_FFFFu)]
    public void CountOutOfRange_EveryRangeCommandRefused_StateUnchanged(uint count)
    {
        var (board, _) = MappedBoard();
        Assert.Equal(0u, Command(board.Io, DevA, 8, 4, IommuController.CommandAllow));
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevA, 0, count, IommuController.CommandAllow));
        Assert.False(board.Iommu.IsAllowed(DevA, 0));
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevA, 8, count, IommuController.CommandRevoke));
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevA, 8, count, IommuController.CommandQuery));
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 8, 4, IommuController.CommandQuery));
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 0, 4096, IommuController.CommandAllow)); // the maximum
        Assert.True(board.Iommu.IsAllowed(DevA, 4095));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(5u)]
    [InlineData(0x101u)]
    [InlineData(0xFFFF_FFFFu)]
    public void UnknownCommand_Refused_StateUnchanged(uint command)
    {
        var (board, _) = MappedBoard();
        Assert.Equal(0u, Command(board.Io, DevA, 8, 4, IommuController.CommandAllow));
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevA, 8, 4, command));
        Assert.True(board.Iommu.IsRangeAllowed(DevA, 8, 4));
        Assert.False(board.Iommu.IsAllowed(DevA, 12));
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 8, 4, IommuController.CommandQuery));
    }

    [Fact]
    public void DeviceTableFull_AllowForNewDeviceRefused_KnownDeviceStillServed()
    {
        var (board, _) = MappedBoard(maxDmaDevices: 1);
        var a = board.Iommu.Port(DevA);
        Assert.Equal(IommuController.StatusRefused, Command(board.Io, DevB, 3, 1, IommuController.CommandAllow));
        Assert.False(board.Iommu.AnyDeviceAllows(3));
        Assert.Equal(IommuController.StatusNotAllowed, Command(board.Io, DevB, 3, 1, IommuController.CommandQuery));
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevB, 3, 1, IommuController.CommandRevoke));
        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevB, 0, 0, IommuController.CommandReset));
        Assert.Equal(0u, Denied(board.Io, DevB));

        Assert.Equal(IommuController.StatusDone, Command(board.Io, DevA, 3, 1, IommuController.CommandAllow));
        Assert.True(a.Write(3 * Page, new byte[] { 1 }));
    }

    [Fact]
    public void Registers_ReadBack_Only32BitAccessesAtRegisterOffsets()
    {
        var c = new IommuController(new Iommu(new PhysicalMemory(1), 1, 64));
        c.Write(IommuController.DeviceOffset, 4, 0xABCD_1234);
        c.Write(IommuController.FrameOffset, 4, 0xFEDC_BA98);
        c.Write(IommuController.CountOffset, 4, 7);
        Assert.Equal(0x1234u, c.Read(IommuController.DeviceOffset, 4));
        Assert.Equal(0xFEDC_BA98u, c.Read(IommuController.FrameOffset, 4));
        Assert.Equal(7u, c.Read(IommuController.CountOffset, 4));
        Assert.Equal(0u, c.Read(IommuController.CommandOffset, 4));
        Assert.Equal(IommuController.StatusDone, c.Read(IommuController.StatusOffset, 4));

        c.Write(IommuController.CommandOffset, 4, IommuController.CommandAllow); // 0xFEDCBA98 is past the limit
        Assert.Equal(IommuController.StatusRefused, c.Read(IommuController.StatusOffset, 4));
        Assert.Equal(0u, c.Read(IommuController.CommandOffset, 4));
        c.Write(IommuController.StatusOffset, 4, 0);   // read-only
        c.Write(IommuController.DeniedOffset, 4, 5);   // read-only
        Assert.Equal(IommuController.StatusRefused, c.Read(IommuController.StatusOffset, 4));
        Assert.Equal(0u, c.Read(IommuController.DeniedOffset, 4));

        c.Write(IommuController.DeviceOffset, 1, 0x55); // narrow writes dropped
        c.Write(IommuController.DeviceOffset, 2, 0x5555);
        c.Write(IommuController.CommandOffset, 2, IommuController.CommandReset);
        Assert.Equal(0x1234u, c.Read(IommuController.DeviceOffset, 4));
        Assert.Equal(IommuController.StatusRefused, c.Read(IommuController.StatusOffset, 4));
        Assert.Equal(0xFFFF_FFFFu, c.Read(IommuController.DeviceOffset, 1));
        Assert.Equal(0xFFFF_FFFFu, c.Read(IommuController.FrameOffset, 2));
        Assert.Equal(0xFFFF_FFFFu, c.Read(2, 4));    // unaligned
        Assert.Equal(0xFFFF_FFFFu, c.Read(0x18, 4)); // unused
        Assert.Equal(0xFFFF_FFFFu, c.Read(-4, 4));
        Assert.Equal(0xFFFF_FFFFu, c.Read(IommuController.PortCount, 4));
        c.Write(int.MinValue, 4, 1);
        c.Write(0x1C, 3, 1);
        Assert.Equal(0x1234u, c.Read(IommuController.DeviceOffset, 4));
    }

    [Fact]
    public void Denied_CountsRefusedDmaOfDeviceRegister_Saturates()
    {
        var (board, _) = MappedBoard();
        var a = board.Iommu.Port(DevA);
        for (int i = 0; i < 5; i++) Assert.False(a.Write(9 * Page, new byte[] { 1 }));
        Assert.Equal(5u, Denied(board.Io, DevA));
        Assert.Equal(0u, Denied(board.Io, DevB));
        Assert.Equal(5, board.Iommu.Denied(DevA));

        Assert.Equal(0u, IommuController.Saturate(0));
        Assert.Equal(12u, IommuController.Saturate(12));
        Assert.Equal(uint.MaxValue - 1, IommuController.Saturate(uint.MaxValue - 1L));
        Assert.Equal(uint.MaxValue, IommuController.Saturate(uint.MaxValue));
        Assert.Equal(uint.MaxValue, IommuController.Saturate(uint.MaxValue + 1L));
        Assert.Equal(uint.MaxValue, IommuController.Saturate(long.MaxValue));
    }

    [Fact]
    public void IommuRangeCalls_ValidateCountAndLimit_BeforeChangingAnything()
    {
        var iommu = new Iommu(new PhysicalMemory(1), maxDevices: 1, pageLimit: 8192);
        Assert.True(iommu.IsValidRange(0, Iommu.MaxRange));
        Assert.True(iommu.IsValidRange(8191, 1));
        Assert.False(iommu.IsValidRange(0, 0));
        Assert.False(iommu.IsValidRange(0, -1));
        Assert.False(iommu.IsValidRange(0, Iommu.MaxRange + 1));
        Assert.False(iommu.IsValidRange(8190, 4));
        Assert.False(iommu.IsValidRange(ulong.MaxValue, 2));

        Assert.False(iommu.AllowRange(DevA, 0, Iommu.MaxRange + 1));
        Assert.False(iommu.AllowRange(DevA, 0, 0));
        Assert.False(iommu.AllowRange(DevA, 8190, 4));
        Assert.False(iommu.AnyDeviceAllows(0));
        Assert.False(iommu.AnyDeviceAllows(8190));
        Assert.True(iommu.AllowRange(DevA, 8190, 2));
        Assert.False(iommu.AllowRange(DevB, 0, 1)); // device table full
        Assert.False(iommu.RevokeRange(DevA, 8190, 0));
        Assert.False(iommu.RevokeRange(DevA, 8190, 3));
        Assert.True(iommu.IsRangeAllowed(DevA, 8190, 2));
        Assert.False(iommu.IsRangeAllowed(DevA, 8190, 3));
        Assert.True(iommu.RevokeRange(DevA, 8191, 1));
        Assert.False(iommu.IsAllowed(DevA, 8191));
        Assert.True(iommu.IsAllowed(DevA, 8190));
    }

    [Fact]
    public void AnyDeviceAllows_TrueWhileSomeDeviceMayReachTheFrame()
    {
        var (board, _) = MappedBoard();
        Assert.False(board.Iommu.AnyDeviceAllows(12));
        Assert.Equal(0u, Command(board.Io, DevA, 10, 4, IommuController.CommandAllow));
        Assert.Equal(0u, Command(board.Io, DevB, 12, 1, IommuController.CommandAllow));
        Assert.True(board.Iommu.AnyDeviceAllows(12));
        Assert.True(board.Iommu.AnyDeviceAllows(10));
        Assert.False(board.Iommu.AnyDeviceAllows(14));

        Assert.Equal(0u, Command(board.Io, DevA, 12, 1, IommuController.CommandRevoke));
        Assert.True(board.Iommu.AnyDeviceAllows(12)); // DevB still reaches it
        Assert.Equal(0u, Command(board.Io, DevB, 0, 0, IommuController.CommandReset));
        Assert.False(board.Iommu.AnyDeviceAllows(12));
        Assert.True(board.Iommu.AnyDeviceAllows(13));
        Assert.Equal(0u, Command(board.Io, DevA, 0, 0, IommuController.CommandReset));
        Assert.False(board.Iommu.AnyDeviceAllows(13));
        Assert.False(board.Iommu.AnyDeviceAllows(board.Iommu.PageLimit));
        Assert.False(board.Iommu.AnyDeviceAllows(ulong.MaxValue));
    }

    [Fact]
    public void Rtl8139Receive_RingAllowedThroughPorts_ThenReset_Refused()
    {
        const uint ring = 0x10000; // frames 16–17
        var (board, pages) = MappedBoard();
        var address = new PciAddress(0, 3, 0);
        var (a, wire) = PeerBackend.Pair();
        var nic = new Rtl8139Device([0x52, 0x54, 0, 0x12, 0x34, 0x56], new Line(), a, board.Iommu.Port(address.RequesterId));
        Assert.Null(board.PlugPci(address, nic.Config, nic, 0xC000, 11));
        nic.Config.Write(PciConfigSpace.CommandOffset, 2, PciConfigSpace.CommandIoSpace | PciConfigSpace.CommandBusMaster);
        var io = board.Io;
        io.Write(0xC000 + RbStart, 4, ring);
        io.Write(0xC000 + Rcr, 4, RcrAb);
        io.Write(0xC000 + Cr, 1, CrRe);

        var frame = new byte[64];
        frame.AsSpan(0, 6).Fill(0xFF);
        frame[20] = 0x5A;
        Assert.Equal(0u, Command(io, address.RequesterId, ring >> 12, 2, IommuController.CommandAllow));
        wire.Send(frame);
        Assert.Equal(0x5A, pages[16][4 + 20]);
        Assert.Equal((uint)IntRok, io.Read(0xC000 + Isr, 2) & (IntRok | IntRer));
        Assert.Equal(0u, Denied(io, address.RequesterId));

        io.Write(0xC000 + Isr, 2, 0xFFFF);
        Assert.Equal(0u, Command(io, address.RequesterId, 0, 0, IommuController.CommandReset));
        uint cbr = io.Read(0xC000 + Cbr, 2);
        frame[20] = 0xA5;
        wire.Send(frame);
        Assert.Equal(0, pages[16][(int)cbr + 4 + 20]);
        Assert.Equal(cbr, io.Read(0xC000 + Cbr, 2));
        Assert.Equal((uint)IntRer, io.Read(0xC000 + Isr, 2) & (IntRok | IntRer));
        Assert.Equal(1u, Denied(io, address.RequesterId));
    }
}
