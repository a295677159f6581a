// Starts the trusted PCI-bus and IOMMU drivers in a test system exactly as etc/boot.conf
// defines them (program, slot, arguments, privileges), so the tests run them under the
// privileges a booted system gives them. The machine (a Board) must already be in the kernel's
// options and its devices plugged in: the PCI-bus driver scans the bus when it starts.
using Bulkhead.Kernel.Boot;

namespace Bulkhead.Tests.Harness;

public static class BusDrivers
{
    public static void Start(TestSystem sys)
    {
        string root = TestSystem.RepoRoot();
        var conf = BootConfig.Load(Path.Combine(root, "etc", "boot.conf"));
        foreach (string name in new[] { "pci", "iommu" })
        {
            var p = conf.Find(name) ?? throw new InvalidOperationException($"etc/boot.conf has no process '{name}'");
            var spec = p.ToSpec(AppContext.BaseDirectory, root, _ => throw new InvalidOperationException($"{name}: $name arguments are not supported here"));
            int ep = sys.Kernel.Spawn(spec);
            Assert.Equal(p.Slot, ep);
        }
        TestSystem.WaitUntil(() => sys.Console.Has("iommu: DEV register window"), "the IOMMU driver up");
    }
}
