// One `device NAME { ... };` section of boot.conf: an emulated device the host creates at
// boot, registers in the machine's I/O port space at `io` and wires to IRQ line `irq`
// (thesis Fig. 3.7 style): an NE2000 (ISA, programmed I/O) or an RTL8139 (a PCI function at
// `pci BUS:DEV.FN`, a bus master behind the IOMMU, its BAR0 and interrupt line set to `io` and
// `irq` as firmware would). Frames go nowhere (`backend none`), to a Linux TAP interface, or
// over UDP to another instance. The parser checks names,
// numbers, ranges and overlaps; whether the backend can actually be opened (a TAP needs
// CAP_NET_ADMIN) is found out by the host at boot, which reports it with File and Line.
namespace Bulkhead.Kernel.Boot;

public enum DeviceModel
{
    Ne2000,
    Rtl8139,
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
    public const int MaxIrq = 15;

    public required string Name { get; init; }
    /// <summary>Line of the `device` keyword, for messages.</summary>
    public int Line { get; init; }
    public DeviceModel Model { get; internal set; }
    /// <summary>Base of the device's I/O port range.</summary>
    public int IoBase { get; internal set; }
    /// <summary>Number of I/O ports from IoBase.</summary>
    public int IoLength => Model == DeviceModel.Rtl8139 ? Rtl8139Ports : Ne2000Ports;
    /// <summary>PCI function of a PCI model: bus, device (0..31), function (0..7); -1 for ISA.</summary>
    public int PciBus { get; internal set; } = -1;
    public int PciDevice { get; internal set; } = -1;
    public int PciFunction { get; internal set; } = -1;
    public bool IsPci => Model == DeviceModel.Rtl8139;
    public int Irq { get; internal set; }
    /// <summary>The MAC address: from `mac`, or derived from the name (locally administered).</summary>
    public byte[] Mac { get; internal set; } = [];
    /// <summary>True when the MAC came from the configuration.</summary>
    public bool MacGiven { get; internal set; }
    public DeviceBackendKind Backend { get; internal set; }
    /// <summary>Line of the `backend` statement (or of `device` when omitted), for boot errors.</summary>
    public int BackendLine { get; internal set; }
    public string BackendInterface { get; internal set; } = "";
    public int BackendLocalPort { get; internal set; }
    public string BackendPeerHost { get; internal set; } = "";
    public int BackendPeerPort { get; internal set; }

    public string ModelName => Model == DeviceModel.Rtl8139 ? "rtl8139" : "ne2000";

    public string PciText => IsPci ? $"{PciBus:x2}:{PciDevice:x2}.{PciFunction}" : "";

    public string MacText => string.Join(':', Mac.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>The backend as written, e.g. "none", "tap tap0", "udp 5000 127.0.0.1:5001".</summary>
    public string BackendText => Backend switch
    {
        DeviceBackendKind.Tap => $"tap {BackendInterface}",
        DeviceBackendKind.Udp => $"udp {BackendLocalPort} {BackendPeerHost}:{BackendPeerPort}",
        _ => "none",
    };

    /// <summary>A stable, locally administered unicast MAC for a device name: 52:54:00 (QEMU's
    /// prefix) and three bytes of an FNV-1a hash of the name.</summary>
    public static byte[] DefaultMac(string name)
    {
        uint h = 2166136261;
        foreach (char c in name) h = (h ^ c) * 16777619;
        return [0x52, 0x54, 0x00, (byte)(h >> 16), (byte)(h >> 8), (byte)h];
    }
}
