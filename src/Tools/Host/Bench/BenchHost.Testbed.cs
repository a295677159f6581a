// The machine a benchmark runs in (BenchHost.Testbed): a kernel pinned to CPU 0 with a 64 MiB
// default arena, and, when asked for, the network cards of etc/boot.conf — its NE2000 and its
// RTL8139 device sections — made by the kernel's own device wiring (Kernel/Boot/BootDevices.cs,
// the code bulkhead-kernel boots them with), on a Board, with the trusted PCI-bus and IOMMU
// drivers started as etc/boot.conf defines them for the RTL8139. Only the backend differs:
// each card's is one side of a PeerBackend pair, whose far side (Ne2000Far, Rtl8139Far) is the
// runner's to attach to (unattached, frames sent go nowhere). Without cards there is no board:
// the kernel has no port space, DMA memory or IOMMU.
// Rules: the kernel is disposed before the devices and wires (it stops every process the run
// started); a testbed that cannot be built throws with nothing left running.
using Bulkhead.Kernel;
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Ipc;
using Bulkhead.Machine.Net;

namespace Bulkhead.Host.Bench;

internal static partial class BenchHost
{
    public sealed class Testbed : IDisposable
    {
        private readonly BootDevices? _devices;
        private readonly List<PeerBackend> _far = [];
        private PeerBackend? _ne2000Far, _rtl8139Far;

        public Kernel.Kernel Kernel { get; }
        /// <summary>The far end of the NE2000's wire; null without the card.</summary>
        public PeerBackend? Ne2000Far => _ne2000Far;
        /// <summary>The far end of the RTL8139's wire; null without the card.</summary>
        public PeerBackend? Rtl8139Far => _rtl8139Far;

        /// <summary>Builds the kernel, writing its log to <paramref name="console"/>, plugs the
        /// cards asked for and, with the RTL8139, boots the PCI-bus and IOMMU drivers from
        /// <paramref name="image"/>.</summary>
        public Testbed(string image, TextWriter console, bool ne2000 = false, bool rtl8139 = false, bool confined = true)
        {
            var conf = BootConfig.Load(Path.Combine(RepoRoot(), "etc", "boot.conf"));
            var cards = new List<string>();
            if (ne2000) cards.Add(Card(conf, DeviceModel.Ne2000));
            if (rtl8139) cards.Add(Card(conf, DeviceModel.Rtl8139));
            _devices = cards.Count > 0 ? new BootDevices() : null;
            try
            {
                Kernel = new Kernel.Kernel(new KernelOptions
                {
                    ProcSlots = 64,
                    CpuMask = 1,
                    DefaultArenaBytes = 64L << 20,
                    Console = console,
                    Io = _devices?.Board.Io,
                    DmaMemory = _devices?.Board.Memory,
                    Iommu = _devices?.Board.Iommu,
                    Confinement = Jail(image, confined),
                });
            }
            catch
            {
                _devices?.Dispose();
                throw;
            }
            try
            {
                if (_devices?.Start(Kernel, conf, cards, Wire) is { } error) throw new InvalidOperationException($"bench: {error}");
                if (rtl8139) BootBusDrivers(image, conf);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>The name of etc/boot.conf's first device of <paramref name="model"/>, or throws.</summary>
        private static string Card(BootConfig conf, DeviceModel model) =>
            conf.Devices.FirstOrDefault(d => d.Model == model)?.Name
            ?? throw new InvalidOperationException($"{conf.File} has no {model.ToString().ToLowerInvariant()} device");

        /// <summary>The backend of <paramref name="device"/>: one end of a PeerBackend pair (the
        /// devices dispose it); the far end is kept as the card's and disposed with the testbed.</summary>
        private PeerBackend Wire(BootDevice device)
        {
            var (near, far) = PeerBackend.Pair();
            _far.Add(far);
            if (device.Model == DeviceModel.Rtl8139) _rtl8139Far = far;
            else _ne2000Far = far;
            return near;
        }

        /// <summary>The PCI-bus and IOMMU drivers, exactly as etc/boot.conf defines them.</summary>
        private void BootBusDrivers(string image, BootConfig conf)
        {
            foreach (string name in new[] { "pci", "iommu" }) BootFromConfig(Kernel, image, RepoRoot(), conf, name, []);
        }

        public void Dispose()
        {
            Kernel.Dispose();
            _devices?.Dispose();
            foreach (var b in _far) b.Dispose();
        }
    }
}
