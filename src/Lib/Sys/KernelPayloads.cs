// Payloads of kernel-call requests and replies. Each is exactly 56 bytes (tested).
// Memory arguments are (offset, length) pairs in the caller's arena; the kernel checks them
// against the arena before touching a byte.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Sys;

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct SpawnRequest
{
    public const int FromMemory = 1;
    /// <summary>Start a kernel image object (IMAGE Create); PathLength holds its id.</summary>
    public const int FromImage = 2;
    /// <summary>A host program (a recovery script): the path is a shell script, run by /bin/sh
    /// with argv after it, under the Script confinement (docs/confinement.md) and no IPC at all.</summary>
    public const int Script = 4;
    /// <summary>Start a restartable boot process again from the kernel's copy of its boot.conf
    /// entry; PathLength holds its slot, nothing else is read (docs/rs.md, "Boot processes").</summary>
    public const int Boot = 8;
    /// <summary>Create the process held (MINIX's RTS_NO_PRIV): it exists with its privileges, but
    /// the kernel serves none of its traps until PRIVCTL Allow releases it, so whoever starts it
    /// can finish setting it up (its label in DS, its PCI ACL) before its first IPC. Not with
    /// Script or Boot.</summary>
    public const int Held = 16;

    /// <summary>Path of the binary, or with FromMemory the binary image itself.</summary>
    public long PathOffset;
    public int PathLength;
    public int Flags;
    /// <summary>NUL-terminated arguments argv[1..]; argv[0] is the process name, set by the kernel.</summary>
    public long ArgvOffset;
    public int ArgvLength;
    /// <summary>Arena size for the new process in KiB; 0 = the kernel's default.</summary>
    public int ArenaKiB;
    /// <summary>Offset of a PrivilegeBlock installed before the process runs.</summary>
    public long PrivOffset;
    public ProcessName Name;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct EndpointReply
{
    public int Endpoint;
    public int HostPid;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct PrivCtlRequest
{
    /// <summary>Install the PrivilegeBlock at PrivOffset (the target's parent, Mutable targets only).</summary>
    public const int SetPriv = 0;
    /// <summary>Add I/O ports [Base, Base + Length) (a DeviceAuthority caller: the PCI-bus driver).</summary>
    public const int AddIo = 1;
    /// <summary>Add IRQ line Base (a DeviceAuthority caller).</summary>
    public const int AddIrq = 2;
    /// <summary>Release a process created with SpawnRequest.Held (MINIX SYS_PRIV_ALLOW): its
    /// parent of record or RS; EINVAL when it is not held.</summary>
    public const int Allow = 3;

    public int Target;
    public int Op;
    public long PrivOffset;
    public int Base;
    public int Length;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct KillRequest
{
    public int Target;
    public int Signal;
}

/// <summary>One process exit, reported by GETKSIG to the parent of record.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct ExitInfo
{
    public const int Exited = 1;
    public const int Signaled = 2;
    public const int Dumped = 3;

    /// <summary>Endpoint that exited, or NONE when no exit is pending.</summary>
    public int Endpoint;
    public int How;
    /// <summary>Exit status (Exited) or signal number (Signaled, Dumped).</summary>
    public int Status;
    public int HostPid;
    public ProcessName Name;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct SysCtlRequest
{
    public const int Diag = 1;
    /// <summary>A trusted driver (DeviceAuthority) reports a denial it made: Category is a
    /// <see cref="Denial"/>, Offender the endpoint it refused.</summary>
    public const int ReportDenial = 2;
    public const int MaxDiagLength = 4096;

    public int Op;
    public int Length;
    public long Offset;
    public int Category;
    public int Offender;
}

/// <summary>MAPDMA: pin [Offset, Offset + Length) of the caller's arena (Offset page aligned)
/// as contiguous "physical" page frames bus-master devices can reach (once the IOMMU driver
/// allows them). The reply's BusAddress is the first frame's address.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct MapDmaRequest
{
    public long Offset;
    public long Length;
    public ulong BusAddress;
}

/// <summary>UMAP: does [BusAddress, BusAddress + Length) lie in memory <c>Endpoint</c> pinned
/// with MAPDMA? The reply's ArenaOffset is where BusAddress lies in that process's arena.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct UmapRequest
{
    public int Endpoint;
    public int Reserved;
    public ulong BusAddress;
    public long Length;
    public long ArenaOffset;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct TimesRequest
{
    public int Target;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct TimesReply
{
    /// <summary>CPU time of the target process (user + system), in ns.</summary>
    public long CpuNs;
    public long UptimeNs;
    public long BootTimeUnixNs;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct SetAlarmRequest
{
    /// <summary>Relative expiry in ns (absolute uptime ns with Absolute); 0 cancels.</summary>
    public long ExpiryNs;
    public int Absolute;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct SetAlarmReply
{
    /// <summary>Time left on the alarm this call replaced, 0 if none.</summary>
    public long PreviousRemainingNs;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct GetInfoRequest
{
    public const int KInfo = 1;
    public const int ProcTab = 2;
    public const int Denials = 3;
    public const int WhoAmI = 4;

    public int What;
    public int Length;
    public long Offset;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct GetInfoReply
{
    /// <summary>Bytes written to the caller's buffer.</summary>
    public int Bytes;
    /// <summary>Entries written (process table rows, denial categories).</summary>
    public int Entries;
    public int Endpoint;
    public int Slot;
    public ProcessName Name;
}

[StructLayout(LayoutKind.Sequential, Size = 64)]
public struct KInfo
{
    public int ProcSlots;
    public int LiveProcs;
    public long BootTimeUnixNs;
    public long UptimeNs;
    public long Traps;
    public long KernelCalls;
    public long Messages;
    public long Notifies;
}

/// <summary>SETGRANT: registers the caller's grant table (MINIX sys_setgrant). Count 0
/// unregisters it.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct SetGrantRequest
{
    /// <summary>Arena offset of the first GrantEntry.</summary>
    public long Offset;
    /// <summary>Number of entries, 0..Grant.MaxEntries.</summary>
    public int Count;
}

/// <summary>SAFECOPYFROM / SAFECOPYTO: copy between the caller's arena at LocalOffset and
/// GrantOffset bytes into grant GrantId of Granter.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct SafeCopyRequest
{
    public int Granter;
    public int GrantId;
    public long GrantOffset;
    public long LocalOffset;
    public long Length;
}

/// <summary>VSAFECOPY: a vector of Count VSafeCopyEntry at VectorOffset in the caller's arena.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct VSafeCopyRequest
{
    /// <summary>Largest vector (MINIX SCPVEC_NR).</summary>
    public const int MaxCount = 64;

    public long VectorOffset;
    public int Count;
}

/// <summary>One element of a VSAFECOPY vector (MINIX vscp_vec): exactly one of From and To is
/// SELF, the other is the granter. From = SELF copies to the grant (needs WRITE); To = SELF
/// copies from it (needs READ).</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
public struct VSafeCopyEntry
{
    public int From;
    public int To;
    public int GrantId;
    public int Reserved;
    public long GrantOffset;
    public long LocalOffset;
    public long Length;
}

/// <summary>IMAGE: Create keeps [Offset, Offset + Length) of the caller's arena as an
/// executable image in the kernel (once), answering its Id; SPAWN FromImage starts it without
/// copying it again. Delete (the creator only) drops it. The creator's end drops its images.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct ImageRequest
{
    public const int Create = 1;
    public const int Delete = 2;

    public int Op;
    public int Id;
    public long Offset;
    public long Length;
    public ProcessName Name;
}
