// The ATA model as either IDE channel (src/Machine/Devices/Ata/AtaController.cs, AtaChannel):
// the channel's compatibility-mode numbers (legacy ports and IRQ), the PIIX3 IDE timing
// register that says which channel the function carries (read-only here), and the bus-master
// block with the secondary channel's registers at BAR4+8 and the primary's half inert — a DMA
// through them byte-exact against the image, raising the channel's own IRQ line.
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Pci;
using Xunit;
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;

namespace Bulkhead.Machine.Tests.Devices.Ata;

public sealed class AtaChannelTests
{
    [Fact]
    public void Channels_HaveThePcCompatibilityPortsAndIrqs()
    {
        Assert.Equal((0x1F0, 0x3F6, 14, 0), (CommandBlockOf(AtaChannel.Primary), ControlBlockOf(AtaChannel.Primary),
            IrqOf(AtaChannel.Primary), BusMasterOffsetOf(AtaChannel.Primary)));
        Assert.Equal((0x170, 0x376, 15, 8), (CommandBlockOf(AtaChannel.Secondary), ControlBlockOf(AtaChannel.Secondary),
            IrqOf(AtaChannel.Secondary), BusMasterOffsetOf(AtaChannel.Secondary)));
        using var rig = new AtaRig(channel: AtaChannel.Secondary);
        Assert.Equal((AtaChannel.Secondary, 0x170, 0x376), (rig.Ata.Channel, rig.Ata.CommandBlockBase, rig.Ata.ControlBlockBase));
        using var primary = new AtaRig();
        Assert.Equal((AtaChannel.Primary, 0x1F0, 0x3F6), (primary.Ata.Channel, primary.Ata.CommandBlockBase, primary.Ata.ControlBlockBase));
    }

    [Theory]
    [InlineData(AtaChannel.Primary, 0x8000u, 0u)]
    [InlineData(AtaChannel.Secondary, 0u, 0x8000u)]
    public void IdeTiming_EnablesOnlyTheCarriedChannel_AndIsReadOnly(AtaChannel channel, uint primary, uint secondary)
    {
        using var rig = new AtaRig(channel: channel);
        var config = rig.Ata.Config;
        Assert.Equal((primary, secondary), (config.Read(PciIdeTimingPrimary, 2), config.Read(PciIdeTimingSecondary, 2)));
        Assert.Equal(0x010180u, config.ClassCode); // both channels in compatibility mode, bus master
        config.Write(PciIdeTimingPrimary, 4, 0x8000_8000);
        config.Write(PciIdeTimingPrimary, 4, 0);
        Assert.Equal((primary, secondary), (config.Read(PciIdeTimingPrimary, 2), config.Read(PciIdeTimingSecondary, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => config.SetDeviceRegister(PciConfigSpace.InterruptLineOffset, 1, 5));
    }

    [Fact]
    public void Secondary_BusMasterAtPlus8_DmaIsByteExact_AndRaisesIrq15()
    {
        using var rig = new AtaRig(channel: AtaChannel.Secondary);
        Assert.Equal(15, rig.Irq.Number);
        rig.EnablePci();
        var data = AtaRig.Pattern(4096, 9);
        Assert.True(rig.Memory.Write(AtaRig.Buffer, data));
        rig.Prds((AtaRig.Buffer, 4096));
        Assert.Equal(AtaRig.PrdTable, rig.Ata.BusMaster.Read(8 + BmPrdTable, 4));
        Assert.Equal(0u, rig.Ata.BusMaster.Read(BmPrdTable, 4));   // the primary's half: not in this function
        rig.Command28(CmdWriteDma, 77, 8);
        rig.Ata.BusMaster.Write(BmCommand, 1, BmCommandStart);      // a start in the wrong half does nothing
        Assert.Equal(StatusBsy | StatusIdle, rig.AltStatus);
        Assert.False(rig.Irq.Level);
        rig.StartBusMaster(toMemory: false);                        // BAR4+8
        Assert.True(rig.Irq.Level);
        Assert.Equal(BmStatusInterrupt, rig.BmStatusReg);
        Assert.Equal(0u, rig.Ata.BusMaster.Read(BmStatus, 1));
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.False(rig.Irq.Level);
        rig.StopBusMaster();
        Assert.Equal(data, rig.ImageBytes(77, 8));

        rig.Prds((AtaRig.Buffer + 0x8000, 4096));
        rig.StartBusMaster(toMemory: true);
        rig.Command48(CmdReadDmaExt, 77, 8);
        Assert.Equal(StatusIdle, rig.R(Status));
        Assert.Equal(data, rig.Phys(AtaRig.Buffer + 0x8000, 4096));
        Assert.Equal(0xFFu, rig.Ata.BusMaster.Read(16, 1));         // past the block
    }
}
