// BlockClient's waiting: a receive loop that runs inside the owner's handler while an answer or
// a new driver instance is awaited, and keeps the process what it is outside the wait:
//   * RS's heartbeats are answered at once (ServiceRuntime.Alive), so a long recovery never
//     looks like a hung server;
//   * DS's notifications are kept for the owner's loop (its own subscriptions) and make the
//     client look up its driver's label: a label naming another endpoint, or no endpoint, means
//     the instance it waits on is gone (RS republishes the label when it replaces a driver);
//   * CLOCK: the process has one alarm. The client sets it for its deadline and learns the
//     owner's pending alarm (SETALARM's previous value); it arms the earlier of the two, keeps
//     for the owner every CLOCK that is not its own deadline passing, and re-arms the owner's
//     alarm (or cancels its own) when the wait ends;
//   * every other message — requests, other notifications, answers to the owner's own SENDAs —
//     is kept for the owner's loop (ServerLoop.Defer); when none can be kept a request is
//     answered EAGAIN with SENDNB (so no sender is left blocked) and the rest is dropped, counted.
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Block;

public sealed partial class BlockClient
{
    /// <summary>The owner's alarm (uptime ns) while the client holds the process's alarm; 0: none.</summary>
    private long _ownerAlarmAt;

    /// <summary>Waits for the answer to <paramref name="req"/> from the current instance.</summary>
    private Outcome Await(int type, in BlockRequest req, int count, long deadline, out Message answer, out string why)
    {
        answer = default;
        why = "";
        BorrowAlarm(deadline);
        try
        {
            while (true)
            {
                int r = IpcCall.Receive(Endpoint.Any, out var m);
                if (r != Err.Ok)
                {
                    SysCall.Diag($"blockclient: {_label}: receive failed: {Err.Name(r)}");
                    return Outcome.Broken;
                }
                if (IpcCall.IsNotify(m))
                {
                    var seen = OnNotify(m, deadline);
                    if (seen == Seen.Deadline)
                    {
                        why = $"no answer within {_options.AnswerTimeoutMs} ms";
                        return Outcome.Silent;
                    }
                    if (seen == Seen.Moved) return Outcome.Moved;
                    continue;
                }
                if (m.Source != _endpoint)
                {
                    Keep(m);
                    continue;
                }
                if (m.Type <= Err.Ok && m.As<BlockReply>().Id != req.Id && EarlierId(m.As<BlockReply>().Id, req.Id))
                {
                    StaleAnswers++;
                    continue;
                }
                string? bad = Misanswer(type, req, count, m);
                if (bad is not null)
                {
                    why = bad;
                    return Outcome.Garbage;
                }
                answer = m;
                _lastAnswerAt = Environment.TickCount64;
                return Outcome.Answered;
            }
        }
        finally
        {
            ReturnAlarm();
        }
    }

    /// <summary>Waits until DS names a driver instance other than <paramref name="gone"/> for the
    /// label (true), or <paramref name="deadline"/> passes (false). Anything the current instance
    /// still sends is a late answer, dropped.</summary>
    private bool AwaitNewInstance(int gone, long deadline)
    {
        if (Acceptable(LabelNow(), gone)) return true;
        BorrowAlarm(deadline);
        try
        {
            while (true)
            {
                int r = IpcCall.Receive(Endpoint.Any, out var m);
                if (r != Err.Ok) return false;
                if (IpcCall.IsNotify(m))
                {
                    var seen = OnNotify(m, deadline);
                    if (seen == Seen.Deadline) return false;
                    if (seen != Seen.Nothing && Acceptable(LabelNow(), gone)) return true;
                    continue;
                }
                if (m.Source == _endpoint && m.Type <= Err.Ok) StaleAnswers++;
                else Keep(m);
            }
        }
        finally
        {
            ReturnAlarm();
        }
    }

    private enum Seen
    {
        Nothing,
        /// <summary>DS changed something we subscribed to (and the label names another endpoint, or none).</summary>
        Moved,
        /// <summary>DS changed something, the label still names the current endpoint.</summary>
        DsChange,
        Deadline,
    }

    private Seen OnNotify(in Message m, long deadline)
    {
        switch (m.Source)
        {
            case Endpoint.Rs:
                if (ServiceRuntime.Started) ServiceRuntime.Alive();
                return Seen.Nothing;
            case Endpoint.Ds:
                Keep(m); // the owner's own subscriptions
                return _endpoint != Endpoint.None && !LabelMoved() ? Seen.DsChange : Seen.Moved;
            case Endpoint.Clock:
                long now = Now();
                bool ownerDue = _ownerAlarmAt != 0 && now >= _ownerAlarmAt;
                if (ownerDue) _ownerAlarmAt = 0;
                if (ownerDue || now < deadline) Keep(m); // the owner's alarm, or one of its earlier ones
                if (now >= deadline) return Seen.Deadline;
                Arm(deadline, now);
                return Seen.Nothing;
            default:
                Keep(m);
                return Seen.Nothing;
        }
    }

    /// <summary>The endpoint DS names for the label now; null when it names none (or DS cannot say).</summary>
    private int? LabelNow() => DsClient.RetrieveLabel(_label, out int ep) == Err.Ok && !Endpoint.IsSpecial(ep) ? ep : null;

    /// <summary>DS names another endpoint than the current one for the label, or none (ESRCH):
    /// evidence that the instance is being replaced. False when DS names the current one or
    /// cannot answer at all (DS itself dead or restarting: no evidence about the driver).</summary>
    private bool LabelMoved()
    {
        int r = DsClient.RetrieveLabel(_label, out int ep);
        return r == Err.ESRCH || (r == Err.Ok && (ep != _endpoint || Endpoint.IsSpecial(ep)));
    }

    /// <summary>Whether instance <paramref name="ep"/> may serve us after instance
    /// <paramref name="gone"/> failed: a new one always; the same one only when nothing but
    /// DS's word condemned it (a new, empty DS names no label until RS republishes it — the
    /// same endpoint, for a driver that never died).</summary>
    private bool Acceptable(int? ep, int gone) => ep is { } e && (e != gone || _mayResume);

    /// <summary>Keeps <paramref name="m"/> for the owner's loop; a request that cannot be kept is answered EAGAIN.</summary>
    private void Keep(in Message m)
    {
        var loop = _options.Loop ?? ServerLoop.Current;
        if (loop is not null && loop.Defer(m)) return;
        Refused++;
        if (IpcCall.IsNotify(m) || m.Type <= Err.Ok) return;
        var busy = new Message(Err.EAGAIN);
        IpcCall.SendNb(m.Source, ref busy);
    }

    private void BorrowAlarm(long deadline)
    {
        long now = Now();
        _ownerAlarmAt = 0;
        if (SysCall.SetAlarm(Math.Max(deadline - now, 1), absolute: false, out long previous) == Err.Ok && previous > 0)
        {
            _ownerAlarmAt = now + previous;
            if (_ownerAlarmAt < deadline) Arm(deadline, now);
        }
    }

    /// <summary>Arms the earlier of the client's deadline and the owner's alarm.</summary>
    private void Arm(long deadline, long now)
    {
        long at = _ownerAlarmAt != 0 ? Math.Min(deadline, _ownerAlarmAt) : deadline;
        SysCall.SetAlarm(Math.Max(at - now, 1), absolute: false, out _);
    }

    private void ReturnAlarm()
    {
        long now = Now();
        SysCall.SetAlarm(_ownerAlarmAt != 0 ? Math.Max(_ownerAlarmAt - now, 1) : 0, absolute: false, out _);
        _ownerAlarmAt = 0;
    }

    private static long Now() => SysCall.Times(Endpoint.Self, out var t) == Err.Ok ? t.UptimeNs : 0;

    private static long Deadline(long ms) => Now() + ms * 1_000_000;
}
