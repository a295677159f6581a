// Bus-master DMA of the ATA model through the IOMMU, byte-exact against the image file: READ
// and WRITE DMA (EXT) with multi-entry PRD tables of odd sizes crossing pages, the bus master
// started before or after the command, the status table's completions (PRDs used up: not
// active; PRDs left over: still active), and every error as error bits with nothing written
// outside the allowed memory: a PRD into memory the IOMMU refuses, a PRD table the IOMMU
// refuses, a table shorter than the transfer, bus mastering off, the wrong direction, an
// out-of-range address; plus the bus-master block's register behaviour.
using Bulkhead.Machine.Pci;
using Xunit;
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;

namespace Bulkhead.Machine.Tests.Devices.Ata;

public sealed class AtaDmaTests
{
    private static readonly (uint, int)[] ThreeEntries =
        [(AtaRig.Buffer, 512), (AtaRig.Buffer + 0x0E00, 1536), (AtaRig.Buffer + 0x3000, 2048)]; // 4096 bytes, 8 sectors

    [Fact]
    public void WriteDmaThenReadDma_MultiEntryPrdTable_AreByteExact()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        var data = AtaRig.Pattern(4096, 1);
        Assert.True(rig.Memory.Write(AtaRig.Buffer, data.AsSpan(0, 512)));
        Assert.True(rig.Memory.Write(AtaRig.Buffer + 0x0E00, data.AsSpan(512, 1536)));
        Assert.True(rig.Memory.Write(AtaRig.Buffer + 0x3000, data.AsSpan(2048, 2048)));
        rig.Prds(ThreeEntries);
        rig.Command28(CmdWriteDma, 300, 8);
        Assert.Equal(StatusBsy | StatusIdle, rig.AltStatus);   // waiting for the bus master
        Assert.False(rig.Irq.Level);
        rig.StartBusMaster(toMemory: false);
        Assert.True(rig.Irq.Level);
        Assert.Equal(BmStatusInterrupt, rig.BmStatusReg);      // PRDs used up: not active
        Assert.Equal(StatusIdle, rig.R(Status));
        rig.StopBusMaster();
        rig.Ata.BusMaster.Write(BmStatus, 1, BmStatusInterrupt);
        Assert.Equal(0, rig.BmStatusReg);
        Assert.Equal(data, rig.ImageBytes(300, 8));

        var into = new (uint, int)[] { (AtaRig.Buffer + 0x8000, 3072), (AtaRig.Buffer + 0x9C02, 1024) }; // odd address: bit 0 ignored
        rig.Prds(into);
        rig.StartBusMaster(toMemory: true);                    // started first: waits for the command
        Assert.Equal(BmStatusActive, rig.BmStatusReg);
        rig.Command48(CmdReadDmaExt, 300, 8);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(BmStatusInterrupt, rig.BmStatusReg);
        Assert.Equal(data.AsSpan(0, 3072).ToArray(), rig.Phys(AtaRig.Buffer + 0x8000, 3072));
        Assert.Equal(data.AsSpan(3072).ToArray(), rig.Phys(AtaRig.Buffer + 0x9C02, 1024));
    }

    [Fact]
    public void ReadDma_CountZeroAndA64KiBEntry_Moves256Sectors()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        var data = AtaRig.Pattern(256 * 512, 4);
        rig.WriteSectors(1024, data);
        rig.Prds((AtaRig.Buffer, 0), (AtaRig.Buffer, 0));      // 0 = 64 KiB each
        rig.Command28(CmdReadDma, 1024, 0);
        rig.StartBusMaster(toMemory: true);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(BmStatusInterrupt, rig.BmStatusReg);
        Assert.Equal(data.AsSpan(0x10000).ToArray(), rig.Phys(AtaRig.Buffer, 0x10000)); // the second 64 KiB overwrote the first
    }

    [Fact]
    public void ReadDma_PrdTableLargerThanTheTransfer_StaysActiveUntilStopped()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        rig.Prds(ThreeEntries);
        rig.Command28(CmdReadDma, 0, 2);                       // 1024 bytes of 4096
        rig.StartBusMaster(toMemory: true);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(BmStatusActive | BmStatusInterrupt, rig.BmStatusReg);
        rig.StopBusMaster();
        Assert.Equal(BmStatusInterrupt, rig.BmStatusReg);
    }

    [Fact]
    public void ReadDma_PrdIntoMemoryTheIommuRefuses_SetsErrorBits_WritesNothingOutside()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        var data = AtaRig.Pattern(2048, 6);
        rig.WriteSectors(40, data);
        rig.Prds((AtaRig.Buffer, 1024), (AtaRig.Forbidden, 1024));
        rig.Command28(CmdReadDma, 40, 4);
        rig.StartBusMaster(toMemory: true);
        Assert.True(rig.Irq.Level);
        Assert.Equal(BmStatusError | BmStatusInterrupt, rig.BmStatusReg); // error, not active
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorAbrt, rig.R(Error));
        Assert.Equal(data.AsSpan(0, 1024).ToArray(), rig.Phys(AtaRig.Buffer, 1024)); // the first entry moved, as on hardware
        Assert.Equal(new byte[4096], rig.Phys(AtaRig.Forbidden, 4096));
        Assert.Equal(1L, rig.Iommu.Denied(AtaRig.Rid));
        Assert.NotEqual(0, rig.Ata.Config.Status & PciConfigSpace.StatusReceivedTargetAbort);

        rig.StopBusMaster();                                   // the driver recovers: clear, retry
        rig.Ata.BusMaster.Write(BmStatus, 1, BmStatusError | BmStatusInterrupt);
        Assert.Equal(0, rig.BmStatusReg);
        rig.Prds((AtaRig.Buffer, 2048));
        rig.Command28(CmdReadDma, 40, 4);
        rig.StartBusMaster(toMemory: true);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(data, rig.Phys(AtaRig.Buffer, 2048));
    }

    [Fact]
    public void WriteDma_PrdTableTheIommuRefuses_SetsErrorBits_DiskUntouched()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        rig.Ata.BusMaster.Write(BmPrdTable, 4, AtaRig.Forbidden);
        rig.Command28(CmdWriteDma, 0, 1);
        rig.StartBusMaster(toMemory: false);
        Assert.Equal(BmStatusError | BmStatusInterrupt, rig.BmStatusReg);
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(new byte[512], rig.ImageBytes(0, 1));
    }

    [Fact]
    public void ReadDma_PrdTableShorterThanTheTransfer_SetsErrorBits()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        rig.Prds((AtaRig.Buffer, 1024));
        rig.Command28(CmdReadDma, 0, 4);
        rig.StartBusMaster(toMemory: true);
        Assert.Equal(BmStatusError | BmStatusInterrupt, rig.BmStatusReg);
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorAbrt, rig.R(Error));
    }

    [Theory]
    [InlineData(false, true)]   // bus mastering off in the PCI command register
    [InlineData(true, false)]   // direction bit says "read memory" for a READ DMA
    public void ReadDma_BusMasteringOffOrWrongDirection_SetsErrorBits_MovesNothing(bool busMaster, bool toMemory)
    {
        using var rig = new AtaRig();
        rig.EnablePci(busMaster);
        rig.Prds((AtaRig.Buffer, 512));
        rig.WriteSectors(0, AtaRig.Pattern(512, 8));
        rig.Command28(CmdReadDma, 0, 1);
        rig.StartBusMaster(toMemory);
        Assert.Equal(BmStatusError | BmStatusInterrupt, rig.BmStatusReg);
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(new byte[512], rig.Phys(AtaRig.Buffer, 512));
    }

    [Fact]
    public void ReadDma_OutOfRange_EndsWithIdnf_BusMasterStaysWaiting()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        rig.Prds((AtaRig.Buffer, 512));
        rig.StartBusMaster(toMemory: true);
        rig.Command48(CmdReadDmaExt, rig.Sectors, 1);
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorIdnf, rig.R(Error));
        Assert.Equal(BmStatusActive | BmStatusInterrupt, rig.BmStatusReg);
    }

    [Fact]
    public void BusMaster_StartWithoutCommand_OnlyGoesActive_AndAPendingCommandWaitsForStart()
    {
        using var rig = new AtaRig();
        rig.EnablePci();
        rig.StartBusMaster(toMemory: true);
        Assert.Equal(BmStatusActive, rig.BmStatusReg);
        Assert.False(rig.Irq.Level);
        rig.StopBusMaster();
        Assert.Equal(0, rig.BmStatusReg);
        rig.Command28(CmdReadDma, 0, 1);                       // no bus master: stays busy
        Assert.Equal(StatusBsy | StatusIdle, rig.R(Status));
        rig.W(Command, CmdIdentify);                           // ignored while BSY
        Assert.Equal(StatusBsy | StatusIdle, rig.AltStatus);
        rig.Control(ControlSrst);                              // the way out
        rig.Control(0);
        Assert.Equal(StatusIdle, rig.AltStatus);
        rig.Prds((AtaRig.Buffer, 512));
        rig.StartBusMaster(toMemory: true);
        Assert.False(rig.Irq.Level);                           // the reset dropped the command
    }

    [Fact]
    public void BusMasterBlock_Registers_DecodeOnlyWithIoSpaceEnabled()
    {
        using var rig = new AtaRig();
        Assert.Equal(0xFFFF_FFFFu, rig.Ata.BusMaster.Read(0, 4));
        rig.Ata.BusMaster.Write(BmPrdTable, 4, 0x1234);
        rig.EnablePci();
        Assert.Equal(0u, rig.Ata.BusMaster.Read(BmPrdTable, 4));   // the write above went nowhere
        rig.Ata.BusMaster.Write(BmPrdTable, 4, 0x12345677);
        Assert.Equal(0x12345674u, rig.Ata.BusMaster.Read(BmPrdTable, 4)); // dword aligned
        rig.Ata.BusMaster.Write(BmPrdTable + 2, 2, 0xABCD);
        Assert.Equal(0xABCD5674u, rig.Ata.BusMaster.Read(BmPrdTable, 4));
        rig.Ata.BusMaster.Write(BmStatus, 1, 0xFF);                 // only the DMA-capable bits stick
        Assert.Equal(BmStatusDrive0Dma | BmStatusDrive1Dma, rig.BmStatusReg);
        Assert.Equal(0u, rig.Ata.BusMaster.Read(8, 4));             // no secondary channel
        Assert.Equal(0xFFu, rig.Ata.BusMaster.Read(16, 1));
    }
}
