// The clock task: one alarm per process (SETALARM), delivered as a NOTIFY from CLOCK when it
// expires. The loop keeps only the earliest deadline; when it passes, one scan of the table
// fires every expired alarm and finds the next. Cancelling or moving an alarm later leaves an
// early deadline behind, which costs one extra scan and nothing else.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private long _nextAlarm = long.MaxValue;

    private int DoSetAlarm(Proc caller, ref Message m)
    {
        var req = m.As<SetAlarmRequest>();
        long now = UptimeNs;
        if (req.ExpiryNs < 0) return Err.EINVAL;
        long previous = caller.AlarmDeadline == 0 ? 0 : Math.Max(0, caller.AlarmDeadline - now);
        long deadline = req.ExpiryNs == 0 ? 0
            : req.Absolute != 0 ? Math.Max(req.ExpiryNs, 1)
            : now + req.ExpiryNs < now ? long.MaxValue / 2 : now + req.ExpiryNs;
        caller.AlarmDeadline = deadline;
        if (deadline != 0) _nextAlarm = Math.Min(_nextAlarm, deadline + _bootNs);
        m = Message.Of(0, new SetAlarmReply { PreviousRemainingNs = previous });
        return Err.Ok;
    }

    private void RunAlarms(long nowMonotonic)
    {
        long now = nowMonotonic - _bootNs;
        long next = long.MaxValue;
        foreach (var p in _procs)
        {
            if (!p.Alive || p.AlarmDeadline == 0) continue;
            if (p.AlarmDeadline <= now)
            {
                p.AlarmDeadline = 0;
                NotifyFrom(Endpoint.Clock, Endpoint.Clock, p);
            }
            else
            {
                next = Math.Min(next, p.AlarmDeadline);
            }
        }
        _nextAlarm = next == long.MaxValue ? long.MaxValue : next + _bootNs;
    }
}
