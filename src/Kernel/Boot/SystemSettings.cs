// The `system { ... };` section of boot.conf: the kernel's boot-time parameters. Every value
// has a default, so a configuration without a system section boots with the defaults below.
// Values are range-checked by the parser before they land here.
namespace Bulkhead.Kernel.Boot;

public sealed class SystemSettings
{
    public const int MinProcs = 8;
    public const int MaxProcs = 4096;
    public const int MinArenaKiB = 128;
    public const int MaxArenaKiB = 256 * 1024;
    public const int MinQuantumMs = 1;
    public const int MaxQuantumMs = 10_000;

    /// <summary>Process table slots (`procs`).</summary>
    public int ProcSlots { get; internal set; } = 256;
    /// <summary>Default arena size in KiB (`arena`).</summary>
    public int ArenaKiB { get; internal set; } = 4096;
    /// <summary>CPUs for the kernel loop and the components (`cpus`); 0 = unpinned ("all").</summary>
    public ulong CpuMask { get; internal set; }
    /// <summary>Scheduling quantum in ms (`quantum`).</summary>
    public int QuantumMs { get; internal set; } = 100;
}
