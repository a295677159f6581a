// Boot-time parameters of a kernel instance. Everything here is fixed for the life of the
// instance: table sizes are chosen at boot and never grow.
namespace Bulkhead.Kernel;

public sealed class KernelOptions
{
    /// <summary>Process table slots (kernel tasks are extra).</summary>
    public int ProcSlots { get; init; } = 256;
    /// <summary>First slot handed out round robin; lower slots are for the fixed boot servers.</summary>
    public int FirstDynamicSlot { get; init; } = 16;
    public long DefaultArenaBytes { get; init; } = 4L << 20;
    public long MaxArenaBytes { get; init; } = 256L << 20;
    /// <summary>CPUs for the kernel's loop thread and, by inheritance, every component; 0 = unpinned.</summary>
    public ulong CpuMask { get; init; }
    /// <summary>Scheduling quantum: a process that runs this long without a trap is demoted one level.</summary>
    public long QuantumNs { get; init; } = 100_000_000;
    /// <summary>Every this often, all demoted processes are promoted one level (thesis §3.3.1).</summary>
    public long PromoteNs { get; init; } = 1_000_000_000;
    /// <summary>Console for diagnostics (SYSCTL) and kernel messages.</summary>
    public TextWriter Console { get; init; } = System.Console.Out;
    /// <summary>System log file; null for none.</summary>
    public string? SysLogPath { get; init; }
    /// <summary>Descriptor the components' stdout/stderr go to; -1 inherits the kernel's.</summary>
    public int ComponentOutputFd { get; init; } = -1;
    /// <summary>The machine's I/O port space (devices registered by whoever builds the machine);
    /// null = a machine without port-mapped devices: DEVIO answers ENODEV.</summary>
    public Bulkhead.Machine.Io.IoSpace? Io { get; init; }
    /// <summary>The "physical memory" bus-master devices reach (through the IOMMU); MAPDMA pins
    /// arena pages into it. Null = no DMA: MAPDMA answers ENODEV.</summary>
    public Bulkhead.Machine.Dma.PhysicalMemory? DmaMemory { get; init; }
    /// <summary>The IOMMU in front of DmaMemory: a frame some device may still reach is never
    /// handed to another process.</summary>
    public Bulkhead.Machine.Dma.Iommu? Iommu { get; init; }
    /// <summary>Page frames MAPDMA may hand out (frame numbers 1..DmaFrames; 0 is never used).</summary>
    public int DmaFrames { get; init; } = 4096;
    /// <summary>Host confinement of every process (docs/confinement.md); null runs components
    /// unconfined, which only the benchmarks' before/after comparison does.</summary>
    public Host.Jail.JailOptions? Confinement { get; init; } = new();
    /// <summary>Extra environment for components (e.g. DOTNET_ROOT).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}
