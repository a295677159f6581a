// The numbers of the ATA disk controller model (docs/machine.md "ATA registers"): each
// channel's legacy ports and IRQ, its task-file registers and their bits as the ATA/ATAPI-6 standard
// (T13/1410D) names them, the command opcodes the model knows, and the bus-master IDE block of
// the "Programming Interface for Bus Master IDE Controller" (rev 1.0) that BAR4 of a PCI IDE
// function maps. The one place that knows the numbers: the model and its tests use these names.
namespace Bulkhead.Machine.Devices.Ata;

public static class AtaRegisters
{
    // Legacy ports of the primary channel (compatibility mode) and its IRQ.
    public const int CommandBlockPorts = 0x1F0, CommandBlockLength = 8;
    public const int ControlBlockPort = 0x3F6, ControlBlockLength = 1;
    public const int PrimaryIrq = 14;

    // The secondary channel's.
    public const int SecondaryCommandBlockPorts = 0x170, SecondaryControlBlockPort = 0x376;
    public const int SecondaryIrq = 15;

    /// <summary>Base of <paramref name="channel"/>'s command block (0x1F0 or 0x170).</summary>
    public static int CommandBlockOf(AtaChannel channel) => channel == AtaChannel.Secondary ? SecondaryCommandBlockPorts : CommandBlockPorts;

    /// <summary><paramref name="channel"/>'s control block port (0x3F6 or 0x376).</summary>
    public static int ControlBlockOf(AtaChannel channel) => channel == AtaChannel.Secondary ? SecondaryControlBlockPort : ControlBlockPort;

    /// <summary><paramref name="channel"/>'s IRQ in compatibility mode (14 or 15).</summary>
    public static int IrqOf(AtaChannel channel) => channel == AtaChannel.Secondary ? SecondaryIrq : PrimaryIrq;

    /// <summary>Offset of <paramref name="channel"/>'s registers in the bus-master block (0 or 8).</summary>
    public static int BusMasterOffsetOf(AtaChannel channel) => channel == AtaChannel.Secondary ? BusMasterChannelLength : 0;

    // Command block offsets. Where reading and writing reach different registers, both names.
    public const int Data = 0, Error = 1, Features = 1, SectorCount = 2, LbaLow = 3, LbaMid = 4, LbaHigh = 5,
        Device = 6, Status = 7, Command = 7;

    // Status (and alternate status).
    public const byte StatusErr = 0x01, StatusDrq = 0x08, StatusDsc = 0x10, StatusDf = 0x20, StatusDrdy = 0x40, StatusBsy = 0x80;
    public const byte StatusIdle = StatusDrdy | StatusDsc;

    // Error.
    public const byte ErrorAmnf = 0x01, ErrorAbrt = 0x04, ErrorIdnf = 0x10, ErrorUnc = 0x40;

    // Device/head.
    public const byte DeviceSlave = 0x10, DeviceLba = 0x40, DeviceObsolete = 0xA0, DeviceHeadMask = 0x0F;

    // Device control (written at the control block port).
    public const byte ControlNien = 0x02, ControlSrst = 0x04, ControlHob = 0x80;

    // Commands.
    public const byte CmdRecalibrate = 0x10, CmdReadSectors = 0x20, CmdReadSectorsExt = 0x24, CmdReadDmaExt = 0x25,
        CmdReadMultipleExt = 0x29, CmdWriteSectors = 0x30, CmdWriteSectorsExt = 0x34, CmdWriteDmaExt = 0x35,
        CmdWriteMultipleExt = 0x39, CmdExecuteDiagnostic = 0x90, CmdInitializeParameters = 0x91,
        CmdReadMultiple = 0xC4, CmdWriteMultiple = 0xC5, CmdSetMultiple = 0xC6, CmdReadDma = 0xC8, CmdWriteDma = 0xCA,
        CmdFlushCache = 0xE7, CmdIdentify = 0xEC, CmdFlushCacheExt = 0xEA, CmdSetFeatures = 0xEF;

    // SET FEATURES subcommands (Features register) and transfer modes (Sector Count).
    public const byte FeatureEnableWriteCache = 0x02, FeatureSetTransferMode = 0x03, FeatureDisableWriteCache = 0x82,
        FeatureDisableLookAhead = 0x55, FeatureEnableLookAhead = 0xAA, FeatureDisableRevert = 0x66, FeatureEnableRevert = 0xCC;
    public const byte ModePioDefault = 0x00, ModePioDefaultNoIordy = 0x01, ModePio = 0x08, ModeMultiwordDma = 0x20, ModeUltraDma = 0x40;

    // The signature a device leaves in the task file after a reset or EXECUTE DEVICE DIAGNOSTIC
    // (an ATA device, not a packet device), and the diagnostic code "device 0 passed, device 1 absent".
    public const byte SignatureCount = 0x01, SignatureLbaLow = 0x01, SignatureLbaMid = 0x00, SignatureLbaHigh = 0x00;
    public const byte DiagnosticPassed = 0x01;

    // Bus-master IDE block (BAR4): primary channel at 0, secondary at 8.
    public const int BusMasterLength = 16, BusMasterChannelLength = 8;
    public const int BmCommand = 0, BmStatus = 2, BmPrdTable = 4;
    public const byte BmCommandStart = 0x01, BmCommandWrite = 0x08; // Write: the bus master writes memory (a READ DMA)
    public const byte BmStatusActive = 0x01, BmStatusError = 0x02, BmStatusInterrupt = 0x04,
        BmStatusDrive0Dma = 0x20, BmStatusDrive1Dma = 0x40, BmStatusSimplex = 0x80;

    // Physical region descriptors: address (bit 0 ignored), byte count (bit 0 ignored, 0 = 64 KiB),
    // end of table in bit 31 of the second dword; a table may not cross a 64 KiB boundary.
    public const int PrdSize = 8, PrdMaxEntries = 0x10000 / PrdSize;
    public const uint PrdEndOfTable = 0x8000_0000;

    // The PCI function: Intel 82371SB PIIX3 IDE, class 01 (mass storage) 01 (IDE), prog-if 0x80
    // (bus master capable, both channels in compatibility mode: legacy ports and IRQ 14/15).
    public const ushort PciVendorId = 0x8086, PciDeviceId = 0x7010;
    public const uint PciClassCode = 0x010180;
    public const int PciBusMasterBar = 4;

    // PIIX3's IDE timing registers (IDETIM, 16 bits): the primary channel's at 0x40, the
    // secondary's at 0x42; bit 15 enables the decode of the channel's legacy ports.
    public const int PciIdeTimingPrimary = 0x40, PciIdeTimingSecondary = 0x42;
    public const ushort IdeTimingDecodeEnable = 0x8000;

    /// <summary>Configuration offset of <paramref name="channel"/>'s IDETIM register.</summary>
    public static int IdeTimingOf(AtaChannel channel) => channel == AtaChannel.Secondary ? PciIdeTimingSecondary : PciIdeTimingPrimary;
}
