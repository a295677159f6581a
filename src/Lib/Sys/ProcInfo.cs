// One row of the process table as GETINFO(ProcTab) returns it. Fixed layout, append-only.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Sys;

public enum ProcState
{
    Free = 0,
    Running = 1,
    Sending = 2,
    Receiving = 3,
    SendRec = 4,
    Zombie = 5,
    /// <summary>Created held (SpawnRequest.Held): none of its traps is served until released.</summary>
    Held = 6,
}

[StructLayout(LayoutKind.Sequential, Size = 96)]
public struct ProcInfo
{
    public int Slot;
    public int Endpoint;
    public ProcState State;
    public int HostPid;
    public int Parent;
    public uint Flags;
    /// <summary>Scheduling level: 0 normal, higher = demoted for using whole quanta.</summary>
    public int Level;
    /// <summary>Endpoint this process is blocked on, NONE when not blocked.</summary>
    public int BlockedOn;
    public long CpuNs;
    public long Traps;
    public long Denials;
    public long StartUptimeNs;
    public ProcessName Name;
    /// <summary>The host uid the process runs as (0: unconfined).</summary>
    public uint HostUid;
    /// <summary>ConfinedFlag, JitFilterFlag, HostViewFlag (docs/confinement.md).</summary>
    public uint Confinement;
    /// <summary>0 for an ordinary process; for a restartable boot process (boot.conf `restart;`,
    /// which RS adopts) the number of its instance: 1 at boot, 2 after its first restart, …</summary>
    public int BootInstance;

    /// <summary>Own uid, no capabilities, namespaces, seccomp allowlist, resource limits.</summary>
    public const uint ConfinedFlag = 1;
    /// <summary>The JIT profile of the allowlist (writable and executable memory allowed).</summary>
    public const uint JitFilterFlag = 2;
    /// <summary>The host's files read-only instead of the bare view.</summary>
    public const uint HostViewFlag = 4;
    /// <summary>A host program (recovery script): the script view and the denylist filter.</summary>
    public const uint ScriptFlag = 8;

    /// <summary>How the process is confined, for `ps`: "-" when it is not, else VIEW/FILTER
    /// (bare|host|script / native|jit|deny).</summary>
    public readonly string ConfinementText =>
        (Confinement & ConfinedFlag) == 0 ? "-"
        : (Confinement & ScriptFlag) != 0 ? "script/deny"
        : ((Confinement & HostViewFlag) != 0 ? "host" : "bare") + ((Confinement & JitFilterFlag) != 0 ? "/jit" : "/native");
}
