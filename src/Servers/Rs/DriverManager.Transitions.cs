// The moves of the service state machine (ServiceState; the table is ServiceLifecycle's and
// docs/rs.md's), one method per state entered. Each sets what the new state needs (deadline,
// backoff, script) and enters it through Enter, which logs a move outside the table as a bug:
// RS goes on (the move is made), but the line says where its bookkeeping went wrong. Leaving
// the table altogether (Remove) ends `service down` and is not a state.
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pm;
using Bulkhead.Lib.Rs;

namespace Bulkhead.Servers.Rs;

public sealed partial class DriverManager
{
    private void Enter(Service s, ServiceState to)
    {
        var from = s.State;
        if (!s.MoveTo(to)) Log($"debug: {s.Label}: illegal transition {from.Text()} -> {to.Text()}");
    }

    /// <summary>→ Starting: a new instance has until the init deadline to report InitDone. A
    /// held instance (<paramref name="held"/>) has no deadline until RS releases it (Release):
    /// held and released are the two halves of Starting.</summary>
    private void BeginInstance(Service s, int endpoint, bool held = false)
    {
        long now = Now;
        s.Endpoint = endpoint;
        s.Incarnation++;
        Enter(s, ServiceState.Starting);
        s.StartedAt = now;
        s.Held = held;
        s.HeldSince = now;
        s.AclAwaited = 0;
        s.Deadline = held ? long.MaxValue : now + _opt.InitTimeoutMs;
        s.LastAlive = s.LastPing = now;
        s.PendingReason = null;
        s.CrashReport = null;
    }

    /// <summary>Starting → Running: InitDone. From now on a restart counts, and is an event.</summary>
    private void OnInitDone(Service s)
    {
        if (s.State != ServiceState.Starting) return;
        Enter(s, ServiceState.Running);
        s.RunningSince = Now;
        if (s.Incarnation > 1)
        {
            s.Restarts++;
            PublishRestart(s);
        }
    }

    /// <summary>→ Restarting: the next start is due in <paramref name="delayMs"/> (Tick starts it).</summary>
    private void ScheduleRestart(Service s, long delayMs, long now)
    {
        s.LastBackoffMs = delayMs;
        Enter(s, ServiceState.Restarting);
        s.Deadline = now + delayMs;
    }

    /// <summary>→ Recovering: runs the service's recovery script (thesis Fig. 4.2) as `/bin/sh
    /// SCRIPT label reason count [PARAMETERS]`, the parameters being the words the administrator
    /// wrote after the script in -recovery (§4.2.1, item 4): a host program the kernel starts
    /// confined (docs/confinement.md), with RS as its parent of record, so its exit reaches RS
    /// like a service's. A script that cannot run leaves the service failed.</summary>
    private void RunScript(Service s, FailureCause reason)
    {
        StopScript(s);
        Enter(s, ServiceState.Recovering);
        s.ScriptDeadline = Now + _opt.ScriptTimeoutMs;
        string count = s.RecentFailures.Count.ToString(CultureInfo.InvariantCulture);
        var words = s.Spec.Recovery.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] args = [s.Label, reason.Text(), count, .. words.Skip(1)];
        int r = PmClient.StartScript("script:" + s.Label, words[0], args, out int ep);
        if (r != Err.Ok)
        {
            Fail(s, $"recovery script {words[0]} cannot run: {Err.Name(r)}");
            return;
        }
        s.Script = ep;
        Log($"{s.Label}: recovery script {words[0]} {string.Join(' ', args)}");
    }

    /// <summary>→ Stopping (`service down`): SIGTERM now, SIGKILL at the stop time-out; the
    /// service leaves the table when the instance's exit is reported.</summary>
    private void BeginStop(Service s)
    {
        Enter(s, ServiceState.Stopping);
        Stop(s, FailureCause.Down);
    }

    /// <summary>→ Updating (`service update`, thesis §4.1.3): the old instance saves its state
    /// first (SaveState → StateSaved), then it is stopped; without an answer within the stop
    /// time-out it is stopped anyway. The new binary starts at the old instance's exit.</summary>
    private void BeginUpdate(Service s)
    {
        if (s.Held) Release(s); // a held instance could neither save its state nor answer
        Enter(s, ServiceState.Updating);
        s.PendingReason = FailureCause.Update;
        s.SavingState = true;
        s.Deadline = Now + _opt.StopTimeoutMs;
        Tell(s.Endpoint, new Message(RsCall.SaveState), $"the state-save request to {s.Label}");
    }

    /// <summary>SIGTERM now, SIGKILL when the stop time-out passes (Tick).</summary>
    private void Stop(Service s, FailureCause reason)
    {
        if (s.Held) Release(s); // it ends the way a running instance does
        s.PendingReason = reason;
        s.Deadline = Now + _opt.StopTimeoutMs;
        PmClient.Kill(s.Endpoint, SigTerm);
    }

    /// <summary>→ Failed: left down until `service refresh`; LastReason keeps the cause of the
    /// last failure, which is what `ps` and `service list` show next to the state "failed".</summary>
    private void Fail(Service s, string why)
    {
        Enter(s, ServiceState.Failed);
        Log($"{s.Label} marked failed: {why}; left down until 'service refresh {s.Label}'");
    }

    /// <summary>→ Lost: the instance is gone from the kernel's table and PM, which would have
    /// reported its exit, is not running (VerifyInstances).</summary>
    private void MarkLost(Service s)
    {
        Log($"{s.Label} (endpoint {s.Endpoint}) is gone and PM, which reports exits and starts processes, is not running: marked lost");
        s.Endpoint = Endpoint.None;
        Enter(s, ServiceState.Lost);
        s.LastReason = FailureCause.UnreportedExit;
    }

    /// <summary>Out of the table: `service down` completed (or of a service with no instance).</summary>
    private void Remove(Service s)
    {
        StopScript(s);
        _services.Remove(s.Label);
        _claims.Release(s.Label);
        DropImage(s);
        _ds.DeleteLabel(s.Label, Now);
    }
}
