// The trap channel between one process and the kernel (ARCHITECTURE.md §1).
//
// Each process has two shared pages:
//   * the trap page, at offset 0 of its arena (a memfd the process maps read/write): the
//     process writes a request here and rings its doorbell (an eventfd the kernel polls);
//   * the kernel page, a separate memfd the process can only map read-only: the kernel
//     writes the result and the delivered message there, then publishes ReplySeq and wakes
//     the process with a futex wake on that word.
// The channel is the sender's identity: the kernel knows which process rang which doorbell and
// never trusts a field of the request for it. The kernel copies the request out of the trap
// page once before checking it, so a process that rewrites its page mid-call only confuses
// itself.
//
// File descriptors a component inherits (fixed numbers, like stdin/stdout/stderr):
//   3 arena memfd (rw), 4 kernel page memfd (read-only), 5 doorbell eventfd.
using System.Runtime.InteropServices;

namespace Bulkhead.Lib.Ipc;

public static class ChannelLayout
{
    public const int ArenaFd = 3;
    public const int KernelPageFd = 4;
    public const int DoorbellFd = 5;

    public const int TrapPageSize = 4096;
    public const int KernelPageSize = 4096;

    /// <summary>First arena offset free for the process's own use (SENDA tables, buffers, grants).</summary>
    public const int ArenaDataStart = TrapPageSize;

    public const string KernelPidVariable = "BULKHEAD_KERNEL_PID";
    public const string NameVariable = "BULKHEAD_NAME";
}

/// <summary>Request written by the process at arena offset 0.</summary>
[StructLayout(LayoutKind.Sequential, Size = 96)]
public struct TrapRequest
{
    /// <summary>Incremented by the process for every request; echoed by the kernel in ReplySeq.</summary>
    public uint Seq;
    public int Trap;
    public int SrcDst;
    /// <summary>0, or RECEIVE: after Trap (SEND, SENDNB or NOTIFY) succeeds, receive from the
    /// source in Arg in the same kernel entry — the reply-then-receive step of every server
    /// loop, batched. Same results as two traps; only the kernel entries are saved.</summary>
    public int ChainTrap;
    /// <summary>SENDA: table offset in the arena. Chained RECEIVE: its source.</summary>
    public long Arg;
    /// <summary>SENDA: number of entries.</summary>
    public long Count;
    public Message Msg;
}

/// <summary>The kernel page, read-only for the process.</summary>
[StructLayout(LayoutKind.Sequential, Size = 192)]
public struct KernelPage
{
    /// <summary>Seq of the request this reply answers; the futex word the process waits on.</summary>
    public uint ReplySeq;
    /// <summary>Result of the last primitive performed (the chained RECEIVE, if any).</summary>
    public int Result;
    /// <summary>With a chained request: the result of the first primitive. When it is not OK
    /// the RECEIVE was not performed.</summary>
    public int FirstResult;
    /// <summary>1 while the kernel will look at the trap page for a new request before it next
    /// sleeps (set when it answers a call, cleared when it looks): the process need not ring
    /// the doorbell then. The process stores its Seq and then reads this word, the kernel
    /// clears it and then reads Seq, each with a full barrier between, so one of them always
    /// sees the other's store and no request is missed.</summary>
    public int Watching;
    public Message Msg;
    // Identity, written once before the process runs.
    public int Endpoint;
    public int Slot;
    public long ArenaSize;
    public long BootTimeUnixNs;
    public ProcessName Name;
}

[System.Runtime.CompilerServices.InlineArray(16)]
public struct ProcessName
{
    private byte _c0;

    public static ProcessName From(string s)
    {
        var n = default(ProcessName);
        FixedText.Write(n, s);
        return n;
    }

    public readonly override string ToString() => FixedText.Read(this);
}

/// <summary>SENDA table entry (MINIX asynmsg_t), living in the sender's arena.</summary>
[StructLayout(LayoutKind.Sequential, Size = 80)]
public struct AsyncEntry
{
    public const int Empty = 0;
    public const int Valid = 1;
    public const int Done = 2;
    public const int NotifyWhenDone = 4;
    public const int NoReply = 8;
    public const int NotifyOnError = 16;
    public const int AllFlags = Valid | Done | NotifyWhenDone | NoReply | NotifyOnError;

    public int Flags;
    public int Dst;
    public int Result;
    public int Reserved;
    public Message Msg;
}

/// <summary>Payload of NOTIFY_MESSAGE, filled by the kernel.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct NotifyPayload
{
    public const int MessageType = Protocols.Notify;

    /// <summary>Kernel monotonic time in nanoseconds when the notification was delivered.</summary>
    public long Timestamp;
    /// <summary>Pending interrupt bits (from HARDWARE).</summary>
    public ulong Interrupts;
    /// <summary>Pending kernel signals (from SYSTEM).</summary>
    public ulong SigSet;
}
