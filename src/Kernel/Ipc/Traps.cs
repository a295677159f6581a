// Trap entry: a doorbell rang, so copy the request out of the trap page once, check it in
// MINIX's order (primitive known → primitive allowed → destination valid → destination
// allowed) and hand it to the primitive. Nothing changes before every check has passed.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private long _traps;
    private long _messages;
    private long _notifies;
    private long _kernelCalls;

    private void HandleDoorbell(Proc p)
    {
        if (p.Held) return; // served once PRIVCTL Allow releases it (ProcessCalls.cs)
        uint seq = p.Arena!.RequestSeq;
        if (p.InCall || seq == p.HandledSeq) return; // already answered, or still blocked: ignore
        p.HandledSeq = seq;
        p.CallSeq = seq;
        p.InCall = true;
        p.Traps++;
        _traps++;
        var req = p.Arena.ReadRequest();
        if (req.ChainTrap != 0 && !AcceptChain(p, req.Trap, req.ChainTrap, req.Arg)) return;
        DoTrap(p, req.Trap, req.SrcDst, req.Msg, req.Arg, req.Count);
    }

    /// <summary>A chained request is SEND, SENDNB or NOTIFY followed by a RECEIVE the caller
    /// may perform; anything else is refused whole (EBADCALL) before anything happens.</summary>
    private bool AcceptChain(Proc p, int trap, int chainTrap, long src)
    {
        bool ok = chainTrap == Trap.Receive
                  && trap is Trap.Send or Trap.SendNb or Trap.Notify
                  && p.Priv.TrapAllowed(Trap.Receive)
                  && src is >= int.MinValue and <= int.MaxValue;
        if (!ok)
        {
            RefuseTrap(p, Denial.InvalidPrimitive, Err.EBADCALL);
            return false;
        }
        p.ChainPending = true;
        p.ChainSrc = (int)src == Endpoint.Self ? p.Endpoint : (int)src;
        return true;
    }

    private static bool IsTask(int endpoint) => endpoint is >= Endpoint.AsyncM and <= Endpoint.Kernel;

    private void DoTrap(Proc caller, int trap, int srcDst, Message msg, long arg, long count)
    {
        if (!Trap.IsKnown(trap))
        {
            RefuseTrap(caller, Denial.InvalidPrimitive, Err.EBADCALL);
            return;
        }
        if (!caller.Priv.TrapAllowed(trap))
        {
            RefuseTrap(caller, Denial.InvalidPrimitive, Err.ETRAPDENIED);
            return;
        }
        if (trap == Trap.SendA)
        {
            DoSendA(caller, arg, count);
            return;
        }
        int target = srcDst == Endpoint.Self ? caller.Endpoint : srcDst;
        Proc? peer = null;
        if (target == Endpoint.Any)
        {
            if (trap != Trap.Receive)
            {
                RefuseTrap(caller, Denial.InvalidDestination, Err.EINVAL);
                return;
            }
        }
        else if (IsTask(target))
        {
            if (trap == Trap.SendRec && target is Endpoint.System or Endpoint.Clock)
            {
                DoKernelCall(caller, msg);
                return;
            }
            if (trap != Trap.Receive)
            {
                RefuseTrap(caller, Denial.InvalidPrimitive, Err.ETRAPDENIED);
                return;
            }
        }
        else
        {
            peer = ProcOf(target);
            if (peer is null)
            {
                RefuseTrap(caller, Denial.InvalidDestination, Err.EDEADSRCDST);
                return;
            }
            if (trap != Trap.Receive && !MaySend(caller, peer))
            {
                RefuseTrap(caller, Denial.UnauthorizedDestination, Err.ECALLDENIED);
                return;
            }
        }

        switch (trap)
        {
            case Trap.Send:
            case Trap.SendRec:
            case Trap.SendNb:
                DoSend(caller, peer!, msg, trap);
                break;
            case Trap.Receive:
                DoReceive(caller, target);
                break;
            case Trap.Notify:
                NotifyFrom(caller.Endpoint, caller.Slot, peer!);
                _notifies++;
                Complete(caller, Err.Ok);
                break;
        }
    }

    /// <summary>Symmetric send mask: either side listing the other is enough; a user program
    /// and a server that serves users may always talk (MINIX's user send mask of all servers).</summary>
    private static bool MaySend(Proc a, Proc b) =>
        a.Priv.AllTargets || b.Priv.AllTargets || a.Priv.Lists(b.Slot) || b.Priv.Lists(a.Slot) ||
        (a.Priv.Has(PrivilegeBlock.UserProgram) && b.Priv.Has(PrivilegeBlock.ServesUsers)) ||
        (b.Priv.Has(PrivilegeBlock.UserProgram) && a.Priv.Has(PrivilegeBlock.ServesUsers));

    /// <summary>Counts the denial and ends the caller's trap with the error (Refused, by
    /// contrast, counts it and returns the error to a kernel-call handler).</summary>
    private void RefuseTrap(Proc caller, Denial why, int error)
    {
        CountDenial(caller, why);
        Complete(caller, error);
    }

    /// <summary>Ends the caller's trap with a result and no message; or, when the request
    /// chains a RECEIVE and the first primitive succeeded, goes on with that RECEIVE.</summary>
    private void Complete(Proc p, int result)
    {
        if (p.ChainPending)
        {
            p.ChainPending = false;
            p.Arena!.Page.FirstResult = result;
            if (result == Err.Ok)
            {
                DoReceive(p, p.ChainSrc);
                return;
            }
        }
        p.InCall = false;
        Watch(p);
        p.Arena!.PublishReply(p.CallSeq, result, default, withMessage: false);
    }

    /// <summary>Ends the caller's trap with a result and a delivered message.</summary>
    private void CompleteWith(Proc p, int result, in Message m)
    {
        p.InCall = false;
        Watch(p);
        p.Arena!.PublishReply(p.CallSeq, result, m, withMessage: true);
    }

    // Watching (KernelPage.Watching). A process whose call the kernel just answered usually
    // makes its next trap at once — a server its reply-and-receive, a client its next SENDREC
    // — and on one CPU it does so while the kernel, preempted by the wakeup, is still runnable.
    // So the kernel marks the process watched before publishing the answer and looks at its
    // trap page before it next waits in epoll; a process that finds itself watched skips its
    // doorbell. The kernel never waits in epoll without a timeout while a process is marked.
    // That takes the doorbell write and the epoll_wait out of a hop: two of the four host
    // system calls of each hop. The checks, their order and the results are those of the
    // doorbell path (HandleDoorbell); only how the kernel learns of the request differs.
    private Proc[] _watched = [];
    private Proc[] _watchedSwap = [];
    private int _watchedCount;

    /// <summary>Marks <paramref name="p"/> watched; before its answer is published, so the
    /// process sees the mark when it wakes.</summary>
    private void Watch(Proc p)
    {
        if (p.Watched) return;
        if (_watched.Length == 0)
        {
            _watched = new Proc[_procs.Length];
            _watchedSwap = new Proc[_procs.Length];
        }
        p.Watched = true;
        _watched[_watchedCount++] = p;
        p.Arena!.Page.Watching = 1;
    }

    /// <summary>Unmarks every watched process and serves the requests they made meanwhile.
    /// True when at least one request was served (which may have marked processes again).</summary>
    private bool ServeWatched()
    {
        var list = _watched;
        int n = _watchedCount;
        (_watched, _watchedSwap) = (_watchedSwap, _watched);
        _watchedCount = 0;
        bool served = false;
        for (int i = 0; i < n; i++)
        {
            var p = list[i];
            list[i] = null!;
            p.Watched = false;
            if (!p.Alive || p.Arena is not { } arena) continue;
            // Cleared before the trap page is read, with a full barrier between: a request
            // made after this store rings the doorbell (Channel.Publish).
            Interlocked.Exchange(ref arena.Page.Watching, 0);
            uint handled = p.HandledSeq;
            HandleDoorbell(p);
            if (p.HandledSeq != handled) served = true;
        }
        return served;
    }
}
