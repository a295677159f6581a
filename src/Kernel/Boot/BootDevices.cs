// The `device` sections of boot.conf made real — the machine's wiring, one piece of code for
// bulkhead-kernel's boot and for the benchmarks' machines. The owner creates the machine
// (Board: I/O ports with the PCI host bridge and the IOMMU's registers, DMA memory, IOMMU)
// before the kernel, hands it to the kernel (KernelOptions Io, DmaMemory, Iommu), and once the
// kernel exists Start builds each device with its IRQ line (Kernel.IrqLine) and its frame
// backend: an NE2000 is registered at its I/O base; an RTL8139 gets its DMA port from the
// IOMMU and is plugged into the PCI bus (BAR0 and interrupt line programmed as firmware does)
// — all before any process runs, so the PCI-bus driver's scan finds it. The backend is the
// one the section names (none, TAP, UDP) unless the caller supplies its own (a benchmark's
// in-process wire). Any failure — a TAP interface that needs root, a UDP port in use, ports
// already taken — is an error naming the device and the configuration line. Dispose closes
// every backend Start opened or was given.
using System.Net;
using System.Net.Sockets;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;

namespace Bulkhead.Kernel.Boot;

public sealed class BootDevices : IDisposable
{
    private readonly List<INicBackend> _backends = [];

    public Board Board { get; } = new();

    /// <summary>The devices made, in boot.conf order (for `stats --devices`).</summary>
    public IReadOnlyList<BootDevice> Devices => _devices;

    private readonly List<BootDevice> _devices = [];

    /// <summary>Creates and registers every device of <paramref name="conf"/> (or only those
    /// <paramref name="only"/> names), each on the backend <paramref name="backendFor"/> gives,
    /// else on its configured one; null, or the first error ("FILE:LINE: device NAME: reason").
    /// The caller disposes this either way.</summary>
    public string? Start(Kernel kernel, BootConfig conf, IReadOnlyCollection<string>? only = null, Func<BootDevice, INicBackend>? backendFor = null)
    {
        foreach (var d in conf.Devices)
        {
            if (only is not null && !only.Contains(d.Name)) continue;
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
    }

    /// <summary>`backend none`: frames sent are dropped, nothing arrives.</summary>
    private sealed class NullBackend : INicBackend
    {
        public void Attach(Action<ReadOnlySpan<byte>> receiver) { }

        public void Send(ReadOnlySpan<byte> frame) { }

        public void Dispose() { }
    }
}
