// Endpoints: (generation << 15) + slot, exactly as MINIX. A slot is reused round robin and its
// generation grows on every reuse, so a stale endpoint never reaches the slot's next occupant.
// Kernel tasks have negative slots and generation 0. ANY, NONE and SELF are values no real
// process can have. All bit twiddling on endpoints lives here.
namespace Bulkhead.Lib.Ipc;

public static class Endpoint
{
    public const int GenerationShift = 15;
    public const int GenerationSize = 1 << GenerationShift;
    public const int MaxTasks = 1023;

    public const int Any = 0x7C00;        // 31744
    public const int None = 0x7BFF;       // 31743
    public const int Self = 0x7BFE;       // 31742

    // Kernel tasks (negative slots).
    public const int AsyncM = -5;
    public const int Idle = -4;
    public const int Clock = -3;
    public const int System = -2;
    public const int Kernel = -1;
    public const int Hardware = -1;
    public const int TaskCount = 5;

    // Fixed boot-image servers (slot numbers, generation 0).
    public const int Pm = 0;
    public const int Vfs = 1;
    public const int Rs = 2;
    public const int Mem = 3;
    public const int Sched = 4;
    public const int Tty = 5;
    public const int Ds = 6;
    public const int Vm = 8;
    public const int Mfs = 10;
    public const int Init = 11;
    /// <summary>The trusted PCI-bus driver (Bulkhead's choice of slot).</summary>
    public const int Pci = 12;
    /// <summary>The trusted IOMMU driver (Bulkhead's choice of slot).</summary>
    public const int Iommu = 13;

    /// <summary>Largest generation before it wraps back to 1.</summary>
    public const int MaxGeneration = (int.MaxValue - Any) / GenerationSize - 1;

    public static int Make(int generation, int slot) => (generation << GenerationShift) + slot;

    public static int Slot(int endpoint) => ((endpoint + MaxTasks) & (GenerationSize - 1)) - MaxTasks;

    public static int Generation(int endpoint) => (endpoint + MaxTasks) >> GenerationShift;

    public static int NextGeneration(int generation) => generation >= MaxGeneration ? 1 : generation + 1;

    public static bool IsSpecial(int endpoint) => endpoint is Any or None or Self;

    public static string Name(int endpoint) => endpoint switch
    {
        Any => "ANY",
        None => "NONE",
        Self => "SELF",
        Clock => "CLOCK",
        System => "SYSTEM",
        Kernel => "KERNEL",
        Idle => "IDLE",
        AsyncM => "ASYNCM",
        _ => endpoint.ToString(global::System.Globalization.CultureInfo.InvariantCulture),
    };
}
