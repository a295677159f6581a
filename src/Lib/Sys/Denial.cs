// Categories of unauthorized access, as the thesis counts them (Fig. 5.5). The kernel and
// the trusted drivers count every denial in one of these; GETINFO(Denials) returns the
// counters in this order. Append-only.
namespace Bulkhead.Lib.Sys;

public enum Denial
{
    // Unauthorized CPU access (exceptions that killed a component).
    CpuSegv,
    CpuBus,
    CpuFpe,
    CpuIll,
    CpuAbort,
    CpuOther,
    // Unauthorized memory access (grants).
    GrantIdOutOfRange,
    GrantInvalidGrantor,
    GrantRegionExceeds,
    GrantAccessViolation,
    GrantUnusedOrInvalid,
    MemoryOutsideArena,
    // Unauthorized device I/O.
    DevicePortNotAllowed,
    DeviceIrqNotAllowed,
    DeviceDmaNotAllowed,
    // Unauthorized IPC.
    KernelCallNotAllowed,
    InvalidKernelCall,
    InvalidDestination,
    UnauthorizedDestination,
    RequestRejected,
    InvalidPrimitive,
    // Unauthorized host access (docs/confinement.md): a Linux system call outside the allowlist.
    HostCallNotAllowed,
}

public static class DenialText
{
    public const int Count = (int)Denial.HostCallNotAllowed + 1;

    public static string Group(Denial d) => d switch
    {
        <= Denial.CpuOther => "CPU",
        <= Denial.MemoryOutsideArena => "memory",
        <= Denial.DeviceDmaNotAllowed => "device I/O",
        <= Denial.InvalidPrimitive => "IPC",
        _ => "host",
    };

    public static string Describe(Denial d) => d switch
    {
        Denial.CpuSegv => "segmentation fault (SIGSEGV)",
        Denial.CpuBus => "bus error (SIGBUS)",
        Denial.CpuFpe => "arithmetic exception (SIGFPE)",
        Denial.CpuIll => "illegal instruction (SIGILL)",
        Denial.CpuAbort => "exception or abort (SIGABRT)",
        Denial.CpuOther => "other fatal signal",
        Denial.GrantIdOutOfRange => "grant id out of range",
        Denial.GrantInvalidGrantor => "invalid grantor or grant id",
        Denial.GrantRegionExceeds => "region exceeds grant",
        Denial.GrantAccessViolation => "access type violates grant",
        Denial.GrantUnusedOrInvalid => "unused or invalid grant",
        Denial.MemoryOutsideArena => "buffer outside own arena",
        Denial.DevicePortNotAllowed => "device port not allowed",
        Denial.DeviceIrqNotAllowed => "IRQ line not allowed",
        Denial.DeviceDmaNotAllowed => "DMA outside own buffers",
        Denial.KernelCallNotAllowed => "kernel call not allowed",
        Denial.InvalidKernelCall => "invalid kernel call number",
        Denial.InvalidDestination => "invalid destination endpoint",
        Denial.UnauthorizedDestination => "unauthorized destination",
        Denial.RequestRejected => "request rejected by target",
        Denial.InvalidPrimitive => "invalid IPC primitive",
        Denial.HostCallNotAllowed => "host system call not allowed",
        _ => d.ToString(),
    };
}

/// <summary>The host signals that mean a component's own code faulted (thesis Fig. 5.5's
/// "unauthorized CPU access", Fig. 4.1's "CPU or MMU exception"), in one place for the
/// kernel's denial table and RS's classification of an exit.</summary>
public static class CpuFault
{
    /// <summary>The denial a death by <paramref name="signal"/> counts as, or null when the
    /// signal came from outside (SIGKILL, SIGTERM, …).</summary>
    public static Denial? Of(int signal) => signal switch
    {
        11 => Denial.CpuSegv,
        7 => Denial.CpuBus,
        8 => Denial.CpuFpe,
        4 => Denial.CpuIll,
        6 => Denial.CpuAbort,
        5 or 31 => Denial.CpuOther, // SIGTRAP; SIGSYS (a seccomp kill)
        _ => null,
    };

    public static bool Is(int signal) => Of(signal) is not null;

    /// <summary>The signal's name for messages ("SIGSEGV", or "signal N").</summary>
    public static string Name(int signal) => signal switch
    {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => "signal " + signal.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
