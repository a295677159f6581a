// The `device` sections of boot.conf made real — the machine's wiring, one piece of code for
// bulkhead-kernel's boot and for the benchmarks' machines. The owner creates the machine
// (Board: I/O ports with the PCI host bridge and the IOMMU's registers, DMA memory, IOMMU)
// before the kernel, hands it to the kernel (KernelOptions Io, DmaMemory, Iommu), and once the
// kernel exists Start builds each device with its IRQ line (Kernel.IrqLine) and its frame
// backend: an NE2000 is registered at its I/O base; an RTL8139 gets its DMA port from the
// IOMMU and is plugged into the PCI bus (BAR0 and interrupt line programmed as firmware does);
// an ATA disk opens (or creates, sparse) its image — relative paths from the run directory —
// gets its DMA port, is plugged into the PCI bus with its bus-master block at BAR4, and its
// channel's legacy command and control blocks are registered (0x1F0 and 0x3F6 for the primary,
// 0x170 and 0x376 for the secondary) — all before any process
// runs, so the PCI-bus driver's scan finds them. A NIC's backend is the one the section names
// (none, TAP, UDP) unless the caller supplies its own (a benchmark's in-process wire). Any
// failure — a TAP interface that needs root, a UDP port in use, an image that cannot be
// opened, ports already taken — is an error naming the device and the configuration line.
// Dispose closes every backend Start opened or was given and every disk image. CreatedDisks
// names the images Start made, which the owner may fill before any process runs.
using System.Net;
using System.Net.Sockets;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;
using Bulkhead.Machine.Storage;

namespace Bulkhead.Kernel.Boot;

/// <param name="runDirectory">where relative disk image paths start (null: the current directory)</param>
public sealed class BootDevices(string? runDirectory = null) : IDisposable
{
    private readonly List<INicBackend> _backends = [];
    private readonly List<DiskImage> _images = [];

    public Board Board { get; } = new();

    /// <summary>The devices made, in boot.conf order (for `stats --devices`).</summary>
    public IReadOnlyList<BootDevice> Devices => _devices;

    private readonly List<BootDevice> _devices = [];

    /// <summary>The disks whose image files Start created (a first boot), for the caller to
    /// format (bulkhead-kernel writes the root file system on them: docs/mfs.md).</summary>
    public IReadOnlyList<(BootDevice Device, DiskImage Image)> CreatedDisks => _created;

    private readonly List<(BootDevice, DiskImage)> _created = [];

    /// <summary>Creates and registers every device of <paramref name="conf"/> (or only those
    /// <paramref name="only"/> names), each on the backend <paramref name="backendFor"/> gives,
    /// else on its configured one; null, or the first error ("FILE:LINE: device NAME: reason").
    /// The caller disposes this either way.</summary>
    public string? Start(Kernel kernel, BootConfig conf, IReadOnlyCollection<string>? only = null, Func<BootDevice, INicBackend>? backendFor = null)
    {
        foreach (var d in conf.Devices)
        {
            if (only is not null && !only.Contains(d.Name)) continue;
            if (!d.IsNic)
            {
                if (StartDisk(kernel, conf, d) is { } why) return why;
                continue;
            }
            INicBackend backend;
            try { backend = backendFor?.Invoke(d) ?? OpenBackend(d); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException
                                          or SocketException or ArgumentException)
            {
                return $"{conf.File}:{d.BackendLine}: device {d.Name}: cannot open backend '{d.BackendText}': {e.Message}";
            }
            _backends.Add(backend);
            if (d.IsPci)
            {
                var address = new PciAddress((byte)d.PciBus, (byte)d.PciDevice, (byte)d.PciFunction);
                var nic = new Rtl8139Device(d.Mac, kernel.IrqLine(d.Irq), backend, Board.Iommu.Port(address.RequesterId));
                if (Board.PlugPci(address, nic.Config, nic, d.IoBase, d.Irq) is { } why)
                    return $"{conf.File}:{d.Line}: device {d.Name}: {why}";
            }
            else if (!Board.Io.Register(d.IoBase, d.IoLength, new Ne2000(d.Mac, kernel.IrqLine(d.Irq), backend)))
            {
                return $"{conf.File}:{d.Line}: device {d.Name}: I/O ports 0x{d.IoBase:x}..0x{d.IoBase + d.IoLength - 1:x} are already taken";
            }
            _devices.Add(d);
            string where = d.IsPci ? $"pci {d.PciText}, io 0x{d.IoBase:x}" : $"at 0x{d.IoBase:x}";
            kernel.Log("boot", $"device {d.Name}: {d.ModelName} {where} irq {d.Irq}, mac {d.MacText}, backend {d.BackendText}");
        }
        return null;
    }

    /// <summary>The ATA disk of <paramref name="d"/>: image, PCI function, legacy ports; null or why not.</summary>
    private string? StartDisk(Kernel kernel, BootConfig conf, BootDevice d)
    {
        string path = Path.Combine(runDirectory ?? Directory.GetCurrentDirectory(), d.ImagePath);
        foreach (var (b, n) in d.IoRanges.Skip(1))
            for (int port = b; port < b + n; port++)
                if (Board.Io.Find(port, out _) is { } owner)
                    return $"{conf.File}:{d.Line}: device {d.Name}: I/O port 0x{port:x} is already taken by {owner.Name}";
        DiskImage image;
        try { image = DiskImage.Open(path, d.ImageBytes); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return $"{conf.File}:{d.Line}: device {d.Name}: cannot open image '{path}': {e.Message}";
        }
        _images.Add(image);
        if (image.Created) _created.Add((d, image));
        var address = new PciAddress((byte)d.PciBus, (byte)d.PciDevice, (byte)d.PciFunction);
        var ata = new AtaController(image, $"BULKHEAD-{d.Name}", kernel.IrqLine(d.Irq), Board.Iommu.Port(address.RequesterId), d.Channel);
        if (Board.PlugPci(address, ata.Config, ata.BusMaster, d.IoBase, d.Irq) is { } why)
            return $"{conf.File}:{d.Line}: device {d.Name}: {why}";
        if (!Board.Io.Register(ata.CommandBlockBase, AtaRegisters.CommandBlockLength, ata.CommandBlock)
            || !Board.Io.Register(ata.ControlBlockBase, AtaRegisters.ControlBlockLength, ata.ControlBlock))
            throw new InvalidOperationException($"device {d.Name}: the legacy IDE ports were taken behind the Board's back");
        _devices.Add(d);
        kernel.Log("boot", $"device {d.Name}: ata pci {d.PciText}, bus master io 0x{d.IoBase:x}, {d.ChannelName} channel ports " +
                           $"0x{ata.CommandBlockBase:x} 0x{ata.ControlBlockBase:x} irq {d.Irq}, " +
                           $"image {path} ({image.Sectors} sectors{(image.Created ? ", created" : "")})");
        return null;
    }

    private static INicBackend OpenBackend(BootDevice d) => d.Backend switch
    {
        DeviceBackendKind.Tap => new TapBackend(d.BackendInterface),
        DeviceBackendKind.Udp => new UdpTunnelBackend(new IPEndPoint(PeerAddress(d.BackendPeerHost).AddressFamily == AddressFamily.InterNetworkV6
                                                                          ? IPAddress.IPv6Any : IPAddress.Any, d.BackendLocalPort),
                                                      new IPEndPoint(PeerAddress(d.BackendPeerHost), d.BackendPeerPort)),
        _ => new NullBackend(),
    };

    private static IPAddress PeerAddress(string host)
    {
        if (IPAddress.TryParse(host, out var a)) return a;
        var all = Dns.GetHostAddresses(host);
        return all.FirstOrDefault(x => x.AddressFamily == AddressFamily.InterNetwork) ?? all.FirstOrDefault()
            ?? throw new IOException($"host '{host}' has no address");
    }

    public void Dispose()
    {
        foreach (var b in _backends)
        {
            try { b.Dispose(); }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
        }
        _backends.Clear();
        foreach (var image in _images) image.Dispose();
        _images.Clear();
        _created.Clear();
    }

    /// <summary>`backend none`: frames sent are dropped, nothing arrives.</summary>
    private sealed class NullBackend : INicBackend
    {
        public void Attach(Action<ReadOnlySpan<byte>> receiver) { }

        public void Send(ReadOnlySpan<byte> frame) { }

        public void Dispose() { }
    }
}
