// PciConfigSpace and PciBus: identity fields read-only, command bits writable, status
// error bits write-1-to-clear, BAR0 size probing, interrupt line, out-of-range accesses, and
// enumeration by configuration-space scan (multi-function devices included).
using Bulkhead.Machine.Pci;
using Xunit;

namespace Bulkhead.Machine.Tests.Pci;

public sealed class PciTests
{
    private static PciConfigSpace Nic(bool multiFunction = false) =>
        new(0x10EC, 0x8139, 0x020000, revision: 0x10, ioBarSize: 256, interruptPin: 1, multiFunction);

    [Fact]
    public void Identity_ReadOnly()
    {
        var c = Nic();
        Assert.Equal(0x813910ECu, c.Read(0x00, 4));
        c.Write(0x00, 4, 0);
        Assert.Equal(0x10ECu, c.Read(0x00, 2));
        Assert.Equal(0x8139u, c.Read(0x02, 2));
        Assert.Equal(0x02000010u, c.Read(0x08, 4)); // class 02/00/00, revision 10
        Assert.Equal(0x020000u, c.ClassCode);
        Assert.Equal(1u, c.Read(0x3D, 1));
    }

    [Fact]
    public void Bar0_SizeProbing_ReturnsSizeMask()
    {
        var c = Nic();
        Assert.Equal(1u, c.Read(0x10, 4)); // I/O BAR, not yet placed
        c.Write(0x10, 4, 0xFFFFFFFF);
        uint mask = c.Read(0x10, 4);
        Assert.Equal(0xFFFFFF01u, mask);
        Assert.Equal(256u, ~(mask & ~3u) + 1);
        c.Write(0x10, 4, 0xC000);
        Assert.Equal(0xC001u, c.Read(0x10, 4));
        Assert.Equal(0xC000u, c.IoBase);
        c.Write(0x10, 4, 0xC0FF); // low bits inside the window are hardwired
        Assert.Equal(0xC001u, c.Read(0x10, 4));
        Assert.Equal(0u, c.Read(0x14, 4)); // BAR1 unimplemented
        c.Write(0x14, 4, 0xFFFFFFFF);
        Assert.Equal(0u, c.Read(0x14, 4));
    }

    [Fact]
    public void Command_OnlyImplementedBitsWritable()
    {
        var c = Nic();
        Assert.False(c.BusMasterEnabled);
        c.Write(0x04, 2, 0xFFFF);
        Assert.Equal(0x0505u, c.Read(0x04, 2));
        Assert.True(c.BusMasterEnabled);
        Assert.True(c.IoSpaceEnabled);
        c.Write(0x04, 2, PciConfigSpace.CommandIoSpace);
        Assert.False(c.BusMasterEnabled);
    }

    [Fact]
    public void Status_ErrorBitsWriteOneToClear()
    {
        var c = Nic();
        c.SetStatus(PciConfigSpace.StatusReceivedTargetAbort | PciConfigSpace.StatusReceivedMasterAbort);
        c.Write(0x06, 2, 0x0000);
        Assert.Equal(0x3200u, c.Read(0x06, 2));
        c.Write(0x06, 2, PciConfigSpace.StatusReceivedTargetAbort);
        Assert.Equal(0x2200u, c.Read(0x06, 2));
        // A dword write to the command register with zeros in the status half clears nothing.
        c.Write(0x04, 4, 0x00000005);
        Assert.Equal(0x22000005u, c.Read(0x04, 4));
    }

    [Fact]
    public void InterruptLine_Writable()
    {
        var c = Nic();
        c.Write(0x3C, 1, 11);
        Assert.Equal(11, c.InterruptLine);
        c.Write(0x3D, 1, 4);
        Assert.Equal(1u, c.Read(0x3D, 1));
    }

    [Theory]
    [InlineData(255, 2)]
    [InlineData(-1, 1)]
    [InlineData(0, 3)]
    [InlineData(256, 1)]
    public void OutOfRange_ReadsAllOnes_WriteDropped(int offset, int size)
    {
        var c = Nic();
        Assert.Equal(0xFFFFFFFFu, c.Read(offset, size));
        c.Write(offset, size, 0); // no throw
        Assert.Equal(0x10ECu, c.Read(0, 2));
    }

    [Fact]
    public void Bus_Enumerate_FindsFunctionsLikeAScan()
    {
        var bus = new PciBus();
        var nic = new PciAddress(0, 3, 0);
        Assert.True(bus.Attach(nic, Nic()));
        Assert.True(bus.Attach(new PciAddress(0, 5, 0), Nic(multiFunction: true)));
        Assert.True(bus.Attach(new PciAddress(0, 5, 2), Nic()));
        Assert.True(bus.Attach(new PciAddress(0, 7, 1), Nic())); // function 0 absent: not found
        Assert.True(bus.Attach(new PciAddress(1, 0, 0), Nic()));
        Assert.False(bus.Attach(nic, Nic()));
        Assert.False(bus.Attach(new PciAddress(0, 32, 0), Nic()));

        Assert.Equal(
            [new PciAddress(0, 3, 0), new PciAddress(0, 5, 0), new PciAddress(0, 5, 2), new PciAddress(1, 0, 0)],
            bus.Enumerate());
        Assert.Equal(0x0018, nic.RequesterId);
        Assert.Equal("00:03.0", nic.ToString());
    }

    [Fact]
    public void Bus_ConfigReadWrite_ByAddress()
    {
        var bus = new PciBus();
        var a = new PciAddress(0, 3, 0);
        bus.Attach(a, Nic());
        Assert.Equal(0x8139u, bus.Read(a, 2, 2));
        Assert.Equal(0xFFFFFFFFu, bus.Read(new PciAddress(0, 4, 0), 0, 4));
        bus.Write(new PciAddress(0, 4, 0), 4, 2, 7); // nothing there: dropped
        bus.Write(a, 0x10, 4, 0xFFFFFFFF);
        Assert.Equal(0xFFFFFF01u, bus.Read(a, 0x10, 4));
        Assert.Same(bus.Find(a), bus.Find(a));
        Assert.Null(bus.Find(new PciAddress(0, 4, 0)));
    }

    [Fact]
    public void Bus_Bounded()
    {
        var bus = new PciBus(maxFunctions: 1);
        Assert.True(bus.Attach(new PciAddress(0, 1, 0), Nic()));
        Assert.False(bus.Attach(new PciAddress(0, 2, 0), Nic()));
    }
}
