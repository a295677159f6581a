// IDENTIFY DEVICE as a driver reads it: strings byte-swapped, the LBA28 and LBA48 capacities
// (the LBA28 one capped for a disk beyond 2^28 sectors), the capability and feature words,
// the multiple and transfer-mode words following SET MULTIPLE MODE and SET FEATURES, the
// checksum; and the PCI identity of the IDE function with its BAR4.
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Pci;
using Xunit;
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;

namespace Bulkhead.Machine.Tests.Devices.Ata;

public sealed class AtaIdentifyTests
{
    private static ushort[] Identify(AtaRig rig)
    {
        rig.W(Device, 0);
        rig.W(Command, CmdIdentify);
        Assert.True(rig.Irq.Level);
        Assert.Equal(StatusIdle | StatusDrq, rig.R(Status));
        Assert.False(rig.Irq.Level);
        var w = new ushort[256];
        for (int i = 0; i < 256; i++) w[i] = rig.ReadWord();
        Assert.Equal(StatusIdle, rig.R(Status));
        return w;
    }

    private static string Text(ushort[] w, int first, int words)
    {
        var c = new char[2 * words];
        for (int i = 0; i < words; i++)
        {
            c[2 * i] = (char)(w[first + i] >> 8);
            c[2 * i + 1] = (char)(w[first + i] & 0xFF);
        }
        return new string(c);
    }

    [Fact]
    public void Identify_SmallDisk_ReportsStringsCapacityAndFeatures()
    {
        using var rig = new AtaRig(64L << 20);
        var w = Identify(rig);
        Assert.Equal(0x0040, w[0]);
        Assert.Equal("BULKHEAD ATA DISK".PadRight(40), Text(w, 27, 20));
        Assert.Equal("BH0001".PadRight(20), Text(w, 10, 10));
        Assert.Equal("1.0".PadRight(8), Text(w, 23, 4));
        Assert.Equal(0x0300, w[49] & 0x0300);                 // LBA and DMA
        Assert.Equal(0x8010, w[47]);                          // up to 16 sectors per block
        Assert.Equal(0, w[59]);                               // multiple mode off
        Assert.Equal(131072u, w[60] | ((uint)w[61] << 16));
        Assert.Equal(0x0400, w[83] & 0x0400);                 // LBA48 supported
        Assert.Equal(0x0400, w[86] & 0x0400);                 // and enabled
        Assert.Equal(0x3000, w[83] & 0x3000);                 // FLUSH CACHE (EXT)
        Assert.Equal(0x203F, w[88]);                          // UDMA 0-5, mode 5 selected
        Assert.Equal(131072UL, w[100] | ((ulong)w[101] << 16) | ((ulong)w[102] << 32) | ((ulong)w[103] << 48));
        Assert.Equal(0xA5, w[255] & 0xFF);
        int sum = 0;
        foreach (ushort x in w) sum += (x & 0xFF) + (x >> 8);
        Assert.Equal(0, sum & 0xFF);
    }

    [Fact]
    public void Identify_DiskBeyondLba28_CapsWords60To61_AndReportsLba48Size()
    {
        using var rig = new AtaRig(200L << 30); // sparse: costs nothing
        var w = Identify(rig);
        Assert.Equal(0x0FFFFFFFu, w[60] | ((uint)w[61] << 16));
        Assert.Equal((200UL << 30) / 512, w[100] | ((ulong)w[101] << 16) | ((ulong)w[102] << 32) | ((ulong)w[103] << 48));
    }

    [Fact]
    public void Identify_AfterSetMultipleAndSetFeatures_ReportsTheNewSettings()
    {
        using var rig = new AtaRig();
        rig.W(SectorCount, 8);
        rig.W(Command, CmdSetMultiple);
        Assert.Equal(StatusIdle, rig.R(Status));
        rig.W(Features, FeatureSetTransferMode);
        rig.W(SectorCount, ModeMultiwordDma | 2);
        rig.W(Command, CmdSetFeatures);
        Assert.Equal(StatusIdle, rig.R(Status));
        rig.W(Features, FeatureDisableWriteCache);
        rig.W(Command, CmdSetFeatures);
        Assert.Equal(StatusIdle, rig.R(Status));
        var w = Identify(rig);
        Assert.Equal(0x0108, w[59]);
        Assert.Equal(0x0407, w[63]);                          // MWDMA 0-2, mode 2 selected
        Assert.Equal(0x003F, w[88]);                          // no UDMA mode selected
        Assert.Equal(0, w[85] & 0x0020);                      // write cache off
    }

    [Theory]
    [InlineData(FeatureSetTransferMode, ModeUltraDma | 6)]
    [InlineData(FeatureSetTransferMode, ModePio | 5)]
    [InlineData(0x31, 0)]
    public void SetFeatures_UnknownModeOrSubcommand_Aborts(byte feature, int mode)
    {
        using var rig = new AtaRig();
        rig.W(Features, feature);
        rig.W(SectorCount, mode);
        rig.W(Command, CmdSetFeatures);
        Assert.Equal(StatusIdle | StatusErr, rig.R(Status));
        Assert.Equal(ErrorAbrt, rig.R(Error));
    }

    [Fact]
    public void Config_IsPiix3IdeInCompatibilityMode_WithA16PortBar4()
    {
        using var rig = new AtaRig();
        var c = rig.Ata.Config;
        Assert.Equal((0x8086, 0x7010, 0x010180u), (c.VendorId, c.DeviceId, c.ClassCode));
        for (int bar = 0; bar < 4; bar++) Assert.Equal(0u, c.Read(PciConfigSpace.Bar0Offset + 4 * bar, 4));
        Assert.Equal(0x20, c.IoBarOffset);
        c.Write(0x20, 4, 0xFFFFFFFF);
        Assert.Equal(0xFFFFFFF1u, c.Read(0x20, 4));
        Assert.Equal(0u, c.Read(0x10, 4));
    }

    [Fact]
    public void Board_PlugPci_PlacesBar4AndTheBusFindsTheFunction()
    {
        using var rig = new AtaRig();
        var board = new Board();
        var at = new PciAddress(0, 4, 0);
        Assert.Null(board.PlugPci(at, rig.Ata.Config, rig.Ata.BusMaster, 0xC040, PrimaryIrq));
        Assert.Equal(0xC041u, rig.Ata.Config.Read(0x20, 4));
        Assert.Equal(0xC040u, rig.Ata.Config.IoBase);
        Assert.Equal((byte)PrimaryIrq, rig.Ata.Config.InterruptLine);
        Assert.Contains(at, board.Pci.Enumerate());
        Assert.Same(rig.Ata.BusMaster, board.Io.Find(0xC04F, out _));
        Assert.Contains("aligned", board.PlugPci(new PciAddress(0, 5, 0), new AtaController(rig.Image, "x", rig.Irq, rig.Iommu.Port(1)).Config,
            rig.Ata.BusMaster, 0xC048, PrimaryIrq));
    }
}
