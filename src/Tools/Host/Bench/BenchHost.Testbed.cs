// The machine a benchmark runs in (BenchHost.Testbed): a kernel pinned to CPU 0 with a 64 MiB
// default arena, and, when asked for, the network cards as etc/boot.conf puts them on one
// Bulkhead.Machine.Board — the NE2000 at 0x300, IRQ 9, and the RTL8139 at PCI 00:03.0, I/O
// 0xC000, IRQ 11, behind the IOMMU, with the trusted PCI-bus and IOMMU drivers started as
// etc/boot.conf defines them. Each card's backend is one side of a PeerBackend pair; the
// far side (Ne2000Far, Rtl8139Far) is the runner's to attach to (unattached, frames sent go
// nowhere). Without cards there is no board: the kernel has no port space, DMA memory or IOMMU.
// Rules: the kernel is disposed before the backends (it stops every process the run started);
// a testbed that cannot be built throws with nothing left running.
using Bulkhead.Kernel;
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Ipc;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;

namespace Bulkhead.Host.Bench;

internal static partial class BenchHost
{
    public sealed class Testbed : IDisposable
    {
        private static readonly byte[] s_ne2000Mac = [0x02, 0x00, 0x00, 0x00, 0x83, 0x90];
        private static readonly byte[] s_rtl8139Mac = [0x02, 0x00, 0x00, 0x00, 0x81, 0x39];
        private static readonly PciAddress s_rtl8139At = new(0, 3, 0);

        private readonly List<PeerBackend> _backends = [];

        public Kernel.Kernel Kernel { get; }
        /// <summary>The far end of the NE2000's wire; null without the card.</summary>
        public PeerBackend? Ne2000Far { get; }
        /// <summary>The far end of the RTL8139's wire; null without the card.</summary>
        public PeerBackend? Rtl8139Far { get; }

        /// <summary>Builds the kernel, writing its log to <paramref name="console"/>, plugs the
        /// cards asked for and, with the RTL8139, boots the PCI-bus and IOMMU drivers from
        /// <paramref name="image"/>.</summary>
        public Testbed(string image, TextWriter console, bool ne2000 = false, bool rtl8139 = false, bool confined = true)
        {
            var board = ne2000 || rtl8139 ? new Board() : null;
            Kernel = new Kernel.Kernel(new KernelOptions
            {
                ProcSlots = 64,
                CpuMask = 1,
                DefaultArenaBytes = 64L << 20,
                Console = console,
                Io = board?.Io,
                DmaMemory = board?.Memory,
                Iommu = board?.Iommu,
                Confinement = Jail(image, confined),
            });
            try
            {
                if (ne2000)
                {
                    var near = Wire(out var far);
                    Ne2000Far = far;
                    if (!board!.Io.Register(0x300, 0x20, new Ne2000(s_ne2000Mac, Kernel.IrqLine(9), near)))
                        throw new InvalidOperationException("ports 0x300..0x31f are taken");
                }
                if (rtl8139)
                {
                    var near = Wire(out var far);
                    Rtl8139Far = far;
                    var nic = new Rtl8139Device(s_rtl8139Mac, Kernel.IrqLine(11), near, board!.Iommu.Port(s_rtl8139At.RequesterId));
                    if (board.PlugPci(s_rtl8139At, nic.Config, nic, 0xC000, 11) is { } why)
                        throw new InvalidOperationException($"cannot plug the RTL8139: {why}");
                    BootBusDrivers(image);
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>A PeerBackend pair, both ends disposed with the testbed: the card's end, and
        /// the far one in <paramref name="far"/>.</summary>
        private PeerBackend Wire(out PeerBackend far)
        {
            var (near, other) = PeerBackend.Pair();
            _backends.Add(near);
            _backends.Add(other);
            far = other;
            return near;
        }

        /// <summary>The PCI-bus and IOMMU drivers, exactly as etc/boot.conf defines them.</summary>
        private void BootBusDrivers(string image)
        {
            string root = RepoRoot();
            var conf = BootConfig.Load(Path.Combine(root, "etc", "boot.conf"));
            foreach (string name in new[] { "pci", "iommu" })
            {
                var p = conf.Find(name) ?? throw new InvalidOperationException($"etc/boot.conf has no process '{name}'");
                var spec = p.ToSpec(Path.GetDirectoryName(image)!, root, n => throw new InvalidOperationException($"{name}: '${n}' arguments are not supported here"));
                int ep = Kernel.Spawn(spec);
                if (ep != p.Slot) throw new InvalidOperationException($"cannot start {name}: {Err.Name(ep)}");
            }
        }

        public void Dispose()
        {
            Kernel.Dispose();
            foreach (var b in _backends) b.Dispose();
        }
    }
}
