// One machine: its I/O port space, PCI bus, DMA-able physical memory and IOMMU, with the
// host bridge's configuration ports (PCI mechanism #1 at PciConfigPorts) and the IOMMU's
// register window (IommuPorts) registered in the port space. Interface: the constructor builds
// it; PlugPci is the firmware step that puts a PCI function on the bus, places its I/O BAR
// (BAR0, or BAR4 for an IDE controller) and interrupt line the way a PC BIOS does (the command
// register is left alone: the driver enables I/O space and bus mastering), and registers its
// I/O window; the pieces are public
// for the kernel (Io for DEVIO, Memory for MAPDMA, Iommu for Reset on driver death and
// AnyDeviceAllows before reusing a frame). Order for a bus-master device: take its DMA port
// with Iommu.Port(address.RequesterId) first, build the device model with it, then PlugPci it
// at that same address. The model must be wired to IRQ line `irq`; PlugPci only writes the
// number into the interrupt line register. Rules: PlugPci checks everything first (address,
// BAR, base alignment, ports free, irq 0–15, room on the bus) and returns a readable error
// with nothing changed; once checks pass, a failure means someone bypassed the Board (PciBus
// or IoSpace used directly) and throws. Plugs are serialised by one lock. A driver that later
// rewrites the BAR does not move the window: the port space keeps it where the firmware put it.
// Bounded: MaxPciFunctions functions, maxFrames mapped frames, maxDmaDevices IOMMU devices.
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Pci;

namespace Bulkhead.Machine;

public sealed class Board
{
    /// <summary>CONFIG_ADDRESS (0xCF8) and CONFIG_DATA (0xCFC–0xCFF), as on every PC.</summary>
    public const int PciConfigPorts = 0xCF8;

    /// <summary>The IOMMU register window, 32 ports from 0xDE00 (a free spot of the PC's port map;
    /// the trusted IOMMU driver's policy grants exactly these).</summary>
    public const int IommuPorts = 0xDE00;

    /// <summary>Frames the IOMMU can allow: 1&lt;&lt;20 frames = 4 GiB, the 32-bit bus address space
    /// of the modelled bus masters (RTL8139's RBSTART and TSAD are 32 bits). 128 KiB of bitmap
    /// per device that has been allowed a frame.</summary>
    public const ulong DmaPageLimit = 1UL << 20;

    public const int MaxPciFunctions = 64;

    private readonly object _lock = new();
    private int _plugged; // functions attached through PlugPci; guarded by _lock

    /// <param name="io">an existing port space (e.g. one with ISA devices already in it), or null for a new one</param>
    /// <param name="maxFrames">frames of physical memory that may be mapped (4096 = 16 MiB)</param>
    /// <param name="maxDmaDevices">the IOMMU's device table size</param>
    public Board(IoSpace? io = null, int maxFrames = 4096, int maxDmaDevices = 32)
    {
        Io = io ?? new IoSpace();
        Pci = new PciBus(MaxPciFunctions);
        Memory = new PhysicalMemory(maxFrames);
        Iommu = new Iommu(Memory, maxDmaDevices, DmaPageLimit);
        HostBridge = new PciHostBridge(Pci);
        IommuController = new IommuController(Iommu);
        if (!Io.Register(PciConfigPorts, PciHostBridge.PortCount, HostBridge))
            throw new InvalidOperationException($"ports 0x{PciConfigPorts:x}..0x{PciConfigPorts + PciHostBridge.PortCount - 1:x} are already taken");
        if (!Io.Register(IommuPorts, IommuController.PortCount, IommuController))
            throw new InvalidOperationException($"ports 0x{IommuPorts:x}..0x{IommuPorts + IommuController.PortCount - 1:x} are already taken");
    }

    public IoSpace Io { get; }

    public PciBus Pci { get; }

    public PhysicalMemory Memory { get; }

    public Iommu Iommu { get; }

    public PciHostBridge HostBridge { get; }

    public IommuController IommuController { get; }

    /// <summary>Attaches <paramref name="config"/> at <paramref name="address"/>, programs its I/O
    /// BAR = <paramref name="ioBase"/> | 1 and the interrupt line = <paramref name="irq"/>, and registers
    /// <paramref name="ioWindow"/> at [ioBase, ioBase + BAR size). Null on success, else why not
    /// (nothing changed).</summary>
    public string? PlugPci(PciAddress address, PciConfigSpace config, IPortDevice ioWindow, int ioBase, int irq)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(ioWindow);
        int size = config.IoBarSize;
        if (!address.IsValid) return $"PCI address {address} is invalid (device 0-31, function 0-7)";
        if (size == 0) return $"{ioWindow.Name} at {address}: the function has no I/O BAR";
        if (ioBase <= 0 || ioBase > 0x10000 - size)
            return $"{ioWindow.Name} at {address}: I/O base 0x{ioBase:x} is outside 0x1..0x{0x10000 - size:x}";
        if ((ioBase & (size - 1)) != 0)
            return $"{ioWindow.Name} at {address}: I/O base 0x{ioBase:x} is not aligned to the BAR size 0x{size:x}";
        if (irq is < 0 or > 15) return $"{ioWindow.Name} at {address}: irq {irq} is outside 0-15";
        lock (_lock)
        {
            if (Pci.Find(address) != null) return $"{ioWindow.Name}: PCI address {address} is already taken";
            if (_plugged >= MaxPciFunctions) return $"{ioWindow.Name} at {address}: the PCI bus is full ({MaxPciFunctions} functions)";
            for (int port = ioBase; port < ioBase + size; port++)
            {
                var owner = Io.Find(port, out _);
                if (owner != null)
                    return $"{ioWindow.Name} at {address}: I/O ports 0x{ioBase:x}..0x{ioBase + size - 1:x} overlap {owner.Name} at 0x{port:x}";
            }

            if (!Pci.Attach(address, config))
                throw new InvalidOperationException($"PCI address {address} was taken behind the Board's back");
            config.Write(config.IoBarOffset, 4, (uint)ioBase | 1);
            config.Write(PciConfigSpace.InterruptLineOffset, 1, (uint)irq);
            if (!Io.Register(ioBase, size, ioWindow))
                throw new InvalidOperationException($"I/O ports at 0x{ioBase:x} were taken behind the Board's back");
            _plugged++;
            return null;
        }
    }
}
