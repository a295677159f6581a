// One slot of the kernel's process table. Only the kernel's loop thread touches a Proc.
//
// IPC state follows MINIX: a process blocked in SEND (or the send phase of SENDREC) is
// Sending with SendTo set and sits in the destination's caller queue (an intrusive list, so
// it costs no memory beyond the table); a process blocked in RECEIVE (or the reply phase of
// SENDREC, ReplyPending) is Receiving with GetFrom set. NotifyPending and AsyncPending are
// bitmaps indexed by sender (slot + task count): bounded by the table size, whatever any
// component does.
using Bulkhead.Kernel.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

internal sealed class Proc
{
    public readonly int Slot;
    public int Generation;
    /// <summary>False until the slot's first process: fixed boot servers get generation 0.</summary>
    public bool EverUsed;
    public int Endpoint;
    public ProcState State = ProcState.Free;
    public string Name = "";
    public int HostPid;
    public int Pidfd = -1;
    public int Doorbell = -1;
    public int ImageFd = -1;
    /// <summary>The seccomp user-notification listener of a confined process (Confinement.cs).</summary>
    public int SeccompFd = -1;
    /// <summary>Host uid of a confined process (0 when unconfined).</summary>
    public uint HostUid;
    public Host.Jail.JailView View;
    public Host.Jail.FilterProfile Profile;
    public long HostCallsDenied;
    public ArenaMapping? Arena;
    public readonly Priv Priv;
    /// <summary>Endpoint of the parent of record (gets exit reports), or KERNEL.</summary>
    public int Parent;
    public long StartNs;
    /// <summary>A restartable boot process's spec (ProcessSpec.Restartable): the slot stays
    /// reserved for it and keeps its endpoint across deaths.</summary>
    public ProcessSpec? BootSpec;
    /// <summary>Instances of the restartable boot process started so far (1 at boot).</summary>
    public int BootStarts;

    // Trap channel.
    public uint HandledSeq;
    public uint CallSeq;
    public bool InCall;
    /// <summary>In the kernel's watch list (Kernel.Watch): its kernel page says Watching.</summary>
    public bool Watched;
    /// <summary>Created with SpawnRequest.Held and not yet released by PRIVCTL Allow: its
    /// doorbell is not answered (a trap it makes waits, untouched, for the release).</summary>
    public bool Held;
    /// <summary>The current request carries a chained RECEIVE from ChainSrc (TrapRequest.ChainTrap).</summary>
    public bool ChainPending;
    public int ChainSrc;

    // IPC blocking state.
    public bool Sending;
    public bool Receiving;
    public bool ReplyPending;
    public int SendTo;
    public int GetFrom;
    public Message SendMsg;
    public Proc? CallerQueue;
    public Proc? NextInQueue;

    public readonly ulong[] NotifyPending;
    public readonly ulong[] AsyncPending;
    public ulong PendingSigs;
    public ulong PendingIrqs;

    /// <summary>Arena regions pinned for DMA with MAPDMA (at most MaxDmaRegions).</summary>
    public readonly List<DmaRegion> Dma = [];

    // SENDA table in this process's arena.
    public long AsyncTable;
    public int AsyncCount;

    // Grant table in this process's arena (SETGRANT); GrantCount 0 = none.
    public long GrantTable;
    public int GrantCount;

    // Clock and scheduling.
    public long AlarmDeadline;
    public int Level;
    public long CpuAtTick;

    // Accounting.
    public long Traps;
    public long DenialCount;

    // Exit report (Zombie).
    public ExitInfo Exit;

    public Proc(int slot, int slotCount)
    {
        Slot = slot;
        Priv = new Priv(slotCount);
        int bits = slotCount + Lib.Ipc.Endpoint.TaskCount;
        NotifyPending = new ulong[(bits + 63) / 64];
        AsyncPending = new ulong[(bits + 63) / 64];
    }

    public bool Alive => State is not (ProcState.Free or ProcState.Zombie);

    public bool IsBlocked => Sending || Receiving;

    public ProcState IpcState => State is ProcState.Free or ProcState.Zombie ? State
        : Held ? ProcState.Held
        : Sending && ReplyPending ? ProcState.SendRec
        : Sending ? ProcState.Sending
        : Receiving ? ProcState.Receiving
        : ProcState.Running;

    /// <summary>What this process waits for (MINIX P_BLOCKEDON): NONE when not blocked.</summary>
    public int BlockedOn => Sending ? SendTo : Receiving ? GetFrom : Lib.Ipc.Endpoint.None;

    public void ResetIpc()
    {
        Sending = Receiving = ReplyPending = InCall = ChainPending = Held = false;
        SendTo = GetFrom = Lib.Ipc.Endpoint.None;
        CallerQueue = NextInQueue = null;
        Array.Clear(NotifyPending);
        Array.Clear(AsyncPending);
        PendingSigs = PendingIrqs = 0;
        AsyncTable = 0;
        AsyncCount = 0;
        GrantTable = 0;
        GrantCount = 0;
        AlarmDeadline = 0;
        Level = 0;
        Traps = 0;
        DenialCount = 0;
        HandledSeq = CallSeq = 0;
        Exit = default;
    }
}

internal static class Bits
{
    public static bool Test(ulong[] map, int i) => (map[i >> 6] & (1UL << (i & 63))) != 0;
    public static void Set(ulong[] map, int i) => map[i >> 6] |= 1UL << (i & 63);
    public static void Clear(ulong[] map, int i) => map[i >> 6] &= ~(1UL << (i & 63));

    /// <summary>First set bit at or after <paramref name="from"/>, or -1.</summary>
    public static int First(ulong[] map, int from = 0)
    {
        for (int w = from >> 6; w < map.Length; w++)
        {
            ulong word = map[w];
            if (w == from >> 6) word &= ~0UL << (from & 63);
            if (word != 0) return (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
        }
        return -1;
    }
}
