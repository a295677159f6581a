// One `device NAME { ... };` section of boot.conf: an emulated device the host creates at
// boot, registers in the machine's I/O port space at `io` and wires to IRQ line `irq`
// (thesis Fig. 3.7 style): an NE2000 (ISA, programmed I/O), an RTL8139 (a PCI function at
// `pci BUS:DEV.FN`, a bus master behind the IOMMU, its BAR0 and interrupt line set to `io` and
// `irq` as firmware would), or an ATA disk (a PIIX3 IDE function at `pci` carrying one IDE
// channel, `channel primary` or `secondary`, its BAR4 — the bus-master block — at `io`, plus the
// channel's fixed legacy ports and IRQ: 0x1F0–0x1F7, 0x3F6 and IRQ 14, or 0x170–0x177, 0x376
// and IRQ 15; backed by the host file `image` of `size` bytes).
// A NIC's frames go nowhere (`backend none`), to a Linux TAP interface, or over UDP to another
// instance. The parser checks names, numbers, ranges and overlaps; whether the backend or the
// image can actually be opened (a TAP needs CAP_NET_ADMIN) is found out by the host at boot,
// which reports it with File and Line.
using Bulkhead.Machine.Devices.Ata;

namespace Bulkhead.Kernel.Boot;

public enum DeviceModel
{
    Ne2000,
    Rtl8139,
    Ata,
}

public enum DeviceBackendKind
{
    /// <summary>Frames sent are dropped; nothing is ever received.</summary>
    None,
    /// <summary>A Linux TAP interface (BackendInterface).</summary>
    Tap,
    /// <summary>A UDP tunnel from BackendLocalPort to BackendPeerHost:BackendPeerPort.</summary>
    Udp,
}

public sealed class BootDevice
{
    /// <summary>I/O ports the NE2000 occupies.</summary>
    public const int Ne2000Ports = 0x20;
    /// <summary>I/O ports of the RTL8139's BAR0 (its base must be aligned to it).</summary>
    public const int Rtl8139Ports = 0x100;
    /// <summary>I/O ports of the IDE function's BAR4, the bus-master block (its base aligned to it).</summary>
    public const int AtaBusMasterPorts = 0x10;
    /// <summary>The lengths of an ATA channel's fixed command and control blocks (their bases: AtaRegisters).</summary>
    public const int AtaCommandBlockPorts = AtaRegisters.CommandBlockLength, AtaControlBlockPorts = AtaRegisters.ControlBlockLength;
    public const int MaxIrq = 15;

    public required string Name { get; init; }
    /// <summary>Line of the `device` keyword, for messages.</summary>
    public int Line { get; init; }
    public DeviceModel Model { get; internal set; }
    /// <summary>Base of the device's I/O port range.</summary>
    public int IoBase { get; internal set; }
    /// <summary>Number of I/O ports from IoBase.</summary>
    public int IoLength => Model switch
    {
        DeviceModel.Rtl8139 => Rtl8139Ports,
        DeviceModel.Ata => AtaBusMasterPorts,
        _ => Ne2000Ports,
    };

    /// <summary>Every I/O port range the device occupies: [IoBase, IoBase+IoLength), and for the
    /// ATA disk also its channel's legacy command and control blocks.</summary>
    public IReadOnlyList<(int Base, int Length)> IoRanges => Model == DeviceModel.Ata
        ? [(IoBase, IoLength), (AtaRegisters.CommandBlockOf(Channel), AtaCommandBlockPorts), (AtaRegisters.ControlBlockOf(Channel), AtaControlBlockPorts)]
        : [(IoBase, IoLength)];
    /// <summary>The ATA disk's IDE channel (`channel`; primary when omitted).</summary>
    public AtaChannel Channel { get; internal set; }
    /// <summary>The channel as written: "primary" or "secondary".</summary>
    public string ChannelName => Channel == AtaChannel.Secondary ? "secondary" : "primary";
    /// <summary>PCI function of a PCI model: bus, device (0..31), function (0..7); -1 for ISA.</summary>
    public int PciBus { get; internal set; } = -1;
    public int PciDevice { get; internal set; } = -1;
    public int PciFunction { get; internal set; } = -1;
    public bool IsPci => Model is DeviceModel.Rtl8139 or DeviceModel.Ata;
    /// <summary>A network card (MAC and frame backend); false for the disk.</summary>
    public bool IsNic => Model is not DeviceModel.Ata;
    public int Irq { get; internal set; }
    /// <summary>The MAC address: from `mac`, or derived from the name (locally administered).</summary>
    public byte[] Mac { get; internal set; } = [];
    /// <summary>True when the MAC came from the configuration.</summary>
    public bool MacGiven { get; internal set; }
    public DeviceBackendKind Backend { get; internal set; }
    /// <summary>Line of the `backend` statement (or of `device` when omitted), for boot errors.</summary>
    public int BackendLine { get; internal set; }
    public string BackendInterface { get; internal set; } = "";

    /// <summary>Puts a network device on Linux TAP interface <paramref name="ifname"/> whatever the
    /// file said (`boot --tap DEV=IFNAME`).</summary>
    public void UseTap(string ifname)
    {
        if (!IsNic) throw new InvalidOperationException($"device {Name} is not a network card");
        Backend = DeviceBackendKind.Tap;
        BackendInterface = ifname;
    }
    public int BackendLocalPort { get; internal set; }
    public string BackendPeerHost { get; internal set; } = "";
    public int BackendPeerPort { get; internal set; }
    /// <summary>The disk's image file as written: absolute, or relative to the run directory.</summary>
    public string ImagePath { get; internal set; } = "";
    /// <summary>The disk's size in bytes (a multiple of 512), or 0: the image file's own size.</summary>
    public long ImageBytes { get; internal set; }

    public string ModelName => Model switch
    {
        DeviceModel.Rtl8139 => "rtl8139",
        DeviceModel.Ata => "ata",
        _ => "ne2000",
    };

    public string PciText => IsPci ? $"{PciBus:x2}:{PciDevice:x2}.{PciFunction}" : "";

    /// <summary>The MAC as xx:xx:…, or "-" for the disk.</summary>
    public string MacText => IsNic ? string.Join(':', Mac.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))) : "-";

    /// <summary>The backend as written, e.g. "none", "tap tap0", "udp 5000 127.0.0.1:5001", or the
    /// disk's "image disk0.img".</summary>
    public string BackendText => IsNic ? Backend switch
    {
        DeviceBackendKind.Tap => $"tap {BackendInterface}",
        DeviceBackendKind.Udp => $"udp {BackendLocalPort} {BackendPeerHost}:{BackendPeerPort}",
        _ => "none",
    } : $"image {ImagePath}";

    /// <summary>A stable, locally administered unicast MAC for a device name: 52:54:00 (QEMU's
    /// prefix) and three bytes of an FNV-1a hash of the name.</summary>
    public static byte[] DefaultMac(string name)
    {
        uint h = 2166136261;
        foreach (char c in name) h = (h ^ c) * 16777619;
        return [0x52, 0x54, 0x00, (byte)(h >> 16), (byte)(h >> 8), (byte)h];
    }
}
