// SENDA (thesis §2.1.3, §3.3.4): the caller hands the kernel a table of AsyncEntry in its own
// arena and returns at once. The kernel delivers what it can now and marks the rest pending
// in each destination (one bit per sender); when a destination receives, the kernel rereads
// the sender's table, which is untrusted and may have changed, and rechecks every entry. Each
// entry gets its own result; flags NOTIFY and NOTIFY_ERR ask for a notification from ASYNCM.
// The table is bounded (EDOM beyond MaxAsync) and lives in the caller's memory, not the
// kernel's: the kernel keeps only its offset and length.
using System.Runtime.CompilerServices;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private static readonly int EntrySize = Unsafe.SizeOf<AsyncEntry>();

    /// <summary>MINIX's limit: 16 entries per process-table slot.</summary>
    private int MaxAsync => 16 * (_procs.Length + Endpoint.TaskCount);

    private void DoSendA(Proc caller, long table, long count)
    {
        if (count < 0 || count > MaxAsync)
        {
            Complete(caller, Err.EDOM);
            return;
        }
        if (count > 0 && !caller.Arena!.Contains(table, count * EntrySize))
        {
            RefuseTrap(caller, Denial.MemoryOutsideArena, Err.EFAULT);
            return;
        }
        caller.AsyncTable = table;
        caller.AsyncCount = (int)count;
        ScanAsync(caller, receiver: null);
        Complete(caller, Err.Ok);
    }

    /// <summary>Walks <paramref name="sender"/>'s table. With a receiver, delivers the first
    /// entry for it and returns true; without, delivers to whoever is receiving and marks the
    /// rest pending.</summary>
    private bool ScanAsync(Proc sender, Proc? receiver)
    {
        var arena = sender.Arena!;
        bool delivered = false;
        bool moreForReceiver = false;
        for (int i = 0; i < sender.AsyncCount; i++)
        {
            long at = sender.AsyncTable + (long)i * EntrySize;
            if (!arena.TryRead(at, out AsyncEntry e)) break;
            if ((e.Flags & AsyncEntry.Valid) == 0 || (e.Flags & AsyncEntry.Done) != 0) continue;
            if ((e.Flags & ~AsyncEntry.AllFlags) != 0)
            {
                FinishEntry(sender, at, e.Flags, Err.EINVAL);
                continue;
            }
            var dst = ProcOf(e.Dst);
            if (dst is null)
            {
                CountDenial(sender, Denial.InvalidDestination);
                FinishEntry(sender, at, e.Flags, Err.EDEADSRCDST);
                continue;
            }
            if (!MaySend(sender, dst))
            {
                CountDenial(sender, Denial.UnauthorizedDestination);
                FinishEntry(sender, at, e.Flags, Err.ECALLDENIED);
                continue;
            }
            if (receiver is not null && dst != receiver) continue;
            if (receiver is not null && delivered)
            {
                moreForReceiver = true;
                break;
            }
            // MINIX try_one: an entry may satisfy the receiving half of a SENDREC (a server
            // answering its client with SENDA) unless it is flagged NOREPLY.
            if (WillReceive(dst, sender.Endpoint) && ((e.Flags & AsyncEntry.NoReply) == 0 || !dst.ReplyPending))
            {
                var m = e.Msg;
                m.Source = sender.Endpoint;
                // The sender's entry is marked done before the receiver can run: whoever the
                // receiver talks to next must find the entry finished.
                FinishEntry(sender, at, e.Flags, Err.Ok);
                Deliver(dst, m);
                delivered = true;
                continue;
            }
            Bits.Set(dst.AsyncPending, SenderIndex(sender.Slot));
        }
        if (receiver is not null && !moreForReceiver) Bits.Clear(receiver.AsyncPending, SenderIndex(sender.Slot));
        return delivered;
    }

    private void FinishEntry(Proc sender, long at, int flags, int result)
    {
        var arena = sender.Arena!;
        arena.TryWrite(at + 8, result);
        arena.TryWrite(at, flags | AsyncEntry.Done);
        bool notify = (flags & AsyncEntry.NotifyWhenDone) != 0 || (result != Err.Ok && (flags & AsyncEntry.NotifyOnError) != 0);
        if (notify) NotifyFrom(Endpoint.AsyncM, Endpoint.AsyncM, sender);
    }

    /// <summary>RECEIVE step 3: an asynchronous message for <paramref name="receiver"/> from <paramref name="src"/> (or anyone).</summary>
    private bool TryReceiveAsync(Proc receiver, int src)
    {
        for (int idx = Bits.First(receiver.AsyncPending); idx >= 0; idx = Bits.First(receiver.AsyncPending, idx + 1))
        {
            int slot = idx - Endpoint.TaskCount;
            if (slot < 0 || slot >= _procs.Length)
            {
                Bits.Clear(receiver.AsyncPending, idx);
                continue;
            }
            var sender = _procs[slot];
            if (src != Endpoint.Any && sender.Endpoint != src) continue;
            if (!sender.Alive)
            {
                Bits.Clear(receiver.AsyncPending, idx);
                continue;
            }
            // The receiver must look receiving for the delivery path.
            receiver.Receiving = true;
            receiver.GetFrom = src;
            if (ScanAsync(sender, receiver)) return true;
            receiver.Receiving = false;
            receiver.GetFrom = Endpoint.None;
        }
        return false;
    }
}
