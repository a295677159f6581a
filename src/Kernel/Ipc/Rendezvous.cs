// SEND, SENDREC, SENDNB and RECEIVE (thesis §2.1.3, Fig. 2.2): rendezvous, no buffering.
// A sender that finds its destination receiving hands the message over at once; otherwise it
// waits in the destination's caller queue, unless that would close a cycle of blocked
// processes (ELOCKED) or it asked not to block (SENDNB → ENOTREADY). SENDREC switches the
// caller to receiving from the destination in the same step the request is delivered, which
// is what lets a server answer with SENDNB without ever finding the client "not ready".
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private void DoSend(Proc caller, Proc dst, Message msg, int trap)
    {
        msg.Source = caller.Endpoint;
        if (WillReceive(dst, caller.Endpoint))
        {
            Deliver(dst, msg);
            if (trap == Trap.SendRec) AwaitReply(caller, dst.Endpoint);
            else Complete(caller, Err.Ok);
            return;
        }
        if (trap == Trap.SendNb)
        {
            Complete(caller, Err.ENOTREADY);
            return;
        }
        if (Deadlock(caller, dst.Endpoint, sending: true))
        {
            Complete(caller, Err.ELOCKED);
            return;
        }
        caller.Sending = true;
        caller.SendTo = dst.Endpoint;
        caller.SendMsg = msg;
        caller.ReplyPending = trap == Trap.SendRec;
        Enqueue(dst, caller);
    }

    private void DoReceive(Proc caller, int src)
    {
        // Checked again here for the chained RECEIVE, whose source was named before its first half ran.
        if (src != Endpoint.Any && !IsTask(src) && ProcOf(src) is null)
        {
            RefuseTrap(caller, Denial.InvalidDestination, Err.EDEADSRCDST);
            return;
        }
        // 1. Pending notifications.
        int idx = -1;
        if (src == Endpoint.Any) idx = Bits.First(caller.NotifyPending);
        else if (Bits.Test(caller.NotifyPending, SenderIndex(Endpoint.Slot(src)))) idx = SenderIndex(Endpoint.Slot(src));
        if (idx >= 0)
        {
            Bits.Clear(caller.NotifyPending, idx);
            int slot = idx - Endpoint.TaskCount;
            CompleteWith(caller, Err.Ok, NotifyMessage(caller, slot < 0 ? slot : _procs[slot].Endpoint));
            return;
        }
        // 2. Blocked senders, in arrival order.
        Proc? prev = null;
        for (var q = caller.CallerQueue; q is not null; prev = q, q = q.NextInQueue)
        {
            if (src != Endpoint.Any && q.Endpoint != src) continue;
            if (prev is null) caller.CallerQueue = q.NextInQueue;
            else prev.NextInQueue = q.NextInQueue;
            q.NextInQueue = null;
            q.Sending = false;
            _messages++;
            CompleteWith(caller, Err.Ok, q.SendMsg);
            if (q.ReplyPending) AwaitReply(q, caller.Endpoint);
            else Complete(q, Err.Ok);
            return;
        }
        // 3. Asynchronous messages.
        if (TryReceiveAsync(caller, src)) return;
        // 4. Block.
        if (src != Endpoint.Any && !IsTask(src) && Deadlock(caller, src, sending: false))
        {
            Complete(caller, Err.ELOCKED);
            return;
        }
        caller.Receiving = true;
        caller.GetFrom = src;
    }

    /// <summary>The SENDREC caller now waits for the reply from <paramref name="from"/>.</summary>
    private static void AwaitReply(Proc caller, int from)
    {
        caller.Receiving = true;
        caller.ReplyPending = true;
        caller.GetFrom = from;
    }

    /// <summary>MINIX WILLRECEIVE: <paramref name="p"/> is blocked receiving from <paramref name="src"/> or ANY.</summary>
    private static bool WillReceive(Proc p, int src) =>
        p.Receiving && (p.GetFrom == Endpoint.Any || p.GetFrom == src);

    /// <summary>Hands a message to a process blocked in RECEIVE.</summary>
    private void Deliver(Proc dst, in Message msg)
    {
        dst.Receiving = false;
        dst.ReplyPending = false;
        dst.GetFrom = Endpoint.None;
        _messages++;
        CompleteWith(dst, Err.Ok, msg);
    }

    private static void Enqueue(Proc dst, Proc p)
    {
        p.NextInQueue = null;
        if (dst.CallerQueue is null)
        {
            dst.CallerQueue = p;
            return;
        }
        var tail = dst.CallerQueue;
        while (tail.NextInQueue is not null) tail = tail.NextInQueue;
        tail.NextInQueue = p;
    }

    private static void Unqueue(Proc dst, Proc p)
    {
        Proc? prev = null;
        for (var q = dst.CallerQueue; q is not null; prev = q, q = q.NextInQueue)
        {
            if (q != p) continue;
            if (prev is null) dst.CallerQueue = q.NextInQueue;
            else prev.NextInQueue = q.NextInQueue;
            q.NextInQueue = null;
            return;
        }
    }

    /// <summary>Would blocking <paramref name="caller"/> on <paramref name="target"/> close a
    /// cycle of blocked processes? Follows what each process waits for (MINIX deadlock()).
    /// A two-process cycle is fine when the other side does the opposite operation.</summary>
    private bool Deadlock(Proc caller, int target, bool sending)
    {
        if (target == caller.Endpoint) return true; // waiting for oneself is the shortest cycle
        int group = 1;
        int ep = target;
        for (int hops = 0; hops <= _procs.Length; hops++)
        {
            if (ep == Endpoint.Any || IsTask(ep)) return false;
            var xp = ProcOf(ep);
            if (xp is null) return false;
            group++;
            int next = xp.BlockedOn;
            if (next == Endpoint.None) return false;
            if (next == caller.Endpoint)
                return group != 2 || (sending ? xp.Sending : !xp.Sending);
            ep = next;
        }
        return false;
    }
}
