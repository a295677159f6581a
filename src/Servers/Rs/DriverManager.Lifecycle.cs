// Starting, watching and restarting instances (thesis §4.1–4.2, Figs. 2.5, 4.1, 4.2).
//   start:   policy → privilege block (targets resolved to current endpoints, plus every
//            running service whose policy names this one, so dependents reach the new
//            instance) → PM starts it held → label published in DS, PCI ACL sent → released
//            once both are answered (DriverManager.Hold.cs) → InitDone within a deadline;
//   detect:  exit reported by PM, classified with the instance's own last words; missed
//            heartbeats; complaints; explicit requests;
//   recover: the recovery script if the service has one, else a restart after a binary
//            exponential backoff; too many failures in a window → failed.
// Each completed restart is an event: logged as one "restart …" line and published in DS as
// the last line of rs.restart.<label> (the service's last 16 events) for subscribers.
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Iommu;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pci;
using Bulkhead.Lib.Pm;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;
using PolicyEntry = Bulkhead.Servers.Rs.Policy.Policy;

namespace Bulkhead.Servers.Rs;

public sealed partial class DriverManager
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    /// <summary>Every boot process marked `restart;` in boot.conf becomes a service, running
    /// since boot: PM reports its exits to RS, and RS has the kernel start it again from its
    /// boot entry (thesis §4.3.2; docs/rs.md, "Boot processes"). Its privileges stay the boot
    /// entry's, which the kernel installed before its first instruction.</summary>
    private void AdoptBootProcesses()
    {
        int r = SysCall.ProcessTable(out var rows);
        if (r != Err.Ok)
        {
            Log($"cannot read the process table to adopt the boot processes: {Err.Name(r)}");
            return;
        }
        long now = Now;
        foreach (var p in rows)
        {
            if (p.BootInstance == 0) continue;
            string label = p.Name.ToString();
            if (!ServiceSpec.IsLabel(label) || _services.ContainsKey(label) || _services.Count >= MaxServices)
            {
                Log($"cannot adopt boot process {label} (endpoint {p.Endpoint})");
                continue;
            }
            var spec = new ServiceSpec { Label = label, Binary = "boot:" + label };
            // Adopted running: its start and initialization happened before RS existed.
            _services[label] = new Service(spec, new PolicyEntry { Label = label, File = "boot.conf" }, null, ServiceState.Running)
            {
                BootSlot = p.Slot,
                Endpoint = p.Endpoint,
                Incarnation = p.BootInstance,
                StartedAt = now,
                RunningSince = now,
                LastAlive = now,
                LastPing = now,
            };
        }
        foreach (var s in _services.Values) Publish(s);
        if (_services.Count > 0) Log($"adopted boot processes: {string.Join(", ", _services.Keys)}");
    }

    private void Publish(Service s)
    {
        _ds.PublishLabel(s.Label, s.Endpoint, Now);
    }

    private int StartInstance(Service s)
    {
        if (s.IsBoot) return StartBootInstance(s);
        var priv = s.Policy.ToPrivilegeBlock(EndpointOf, PrivilegeBlock.SysProc, out _);
        foreach (var other in _services.Values)
            if (other != s && other.HasInstance && other.Policy.Targets.Contains(s.Label, StringComparer.Ordinal))
                priv.AddTarget(other.Endpoint);
        var args = s.Spec.Args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (s.Image is not null && s.ImageId == 0)
        {
            // Kept in the kernel once: restarts then copy nothing. Without the IMAGE call (or
            // room for the image) the bytes travel with every start instead.
            int ir = SysCall.ImageCreate(s.Label, s.Image, out int id);
            if (ir == Err.Ok) s.ImageId = id;
            else if (ir != Err.ECALLDENIED) Log($"cannot keep {s.Label}'s image in the kernel: {Err.Name(ir)}");
        }
        int r = PmClient.Start(s.Label, s.Spec.Binary, args, priv, s.Image ?? [], out int ep, s.ImageId, held: _canHold);
        if (r != Err.Ok)
        {
            Log($"cannot start {s.Label}: {Err.Name(r)}");
            return r;
        }
        BeginInstance(s, ep, held: _canHold);
        GrantPciDevices(s);
        Publish(s);
        if (s.Held && !AwaitsSetUp(s)) Release(s);
        return Err.Ok;
    }

    /// <summary>A boot process again, from the kernel's copy of its boot entry. Boot processes
    /// have no InitDone handshake (they start before RS exists): the new instance counts as
    /// running at once, and heartbeats watch it from then on.</summary>
    private int StartBootInstance(Service s)
    {
        int r = PmClient.StartBoot(s.BootSlot, out int ep);
        if (r != Err.Ok)
        {
            Log($"cannot start {s.Label} again: {Err.Name(r)}");
            return r;
        }
        long now = Now;
        BeginInstance(s, ep);
        OnInitDone(s);
        if (ep == Endpoint.Ds)
        {
            _ds.OnDsRestarted(now);
            // A new DS knows nothing (docs/rs.md, "When DS dies"): RS's table is the authority
            // for every label, and RS keeps its restart events.
            foreach (var other in _services.Values)
                if (other.HasInstance) Publish(other);
            RepublishRestartEvents();
            // A heartbeat now: components that keep state in DS (DsBackup) save it again at once.
            foreach (var other in _services.Values)
                if (other.HasInstance && other != s && other.State == ServiceState.Running)
                {
                    other.LastPing = now;
                    IpcCall.Notify(other.Endpoint);
                }
        }
        else
        {
            Publish(s);
        }
        // A new PCI-bus driver has its owners back from DS, but the ACLs come from RS only
        // (what the old one left unanswered is awaited from the new one).
        if (ep == Endpoint.Pci)
            foreach (var other in _services.Values)
                if (other.HasInstance) GrantPciDevices(other);
        return Err.Ok;
    }

    /// <summary>Tells the PCI-bus driver which devices the new instance's policy grants (thesis
    /// §3.4: "the PCI device ID is sent to the PCI-bus driver"), before the instance's first
    /// IPC: a held instance is released once the answer is here (DriverManager.Hold.cs).</summary>
    /// <remarks>RS tells the bus drivers with SENDA and does not block (it never blocks on a
    /// server it watches). The order in which they arrive does not matter: the release of the
    /// old instance and the ACL of the new one name different endpoints, and should a driver
    /// be released without its ACL (the bus driver did not answer in time), the PCI-bus driver
    /// holds its requests until the ACL arrives.</remarks>
    private void GrantPciDevices(Service s)
    {
        if (s.Policy.PciDevices.Count + s.Policy.PciClasses.Count == 0) return;
        var acl = new List<PciAclEntry>();
        foreach (var d in s.Policy.PciDevices)
            acl.Add(new PciAclEntry { Kind = PciAclEntry.KindDevice, Vendor = d.Vendor, Device = d.Device });
        foreach (var c in s.Policy.PciClasses)
            acl.Add(new PciAclEntry
            {
                Kind = c.Interface is null ? PciAclEntry.KindClass : PciAclEntry.KindClassInterface,
                Class = c.Class, Subclass = c.Subclass, Interface = c.Interface ?? 0,
            });
        s.AclAwaited = 0;
        foreach (var m in PciClient.SetAclMessages(s.Endpoint, acl.ToArray()))
            if (Tell(Endpoint.Pci, m, $"the PCI devices of {s.Label}") && _hasPci) s.AclAwaited++;
    }

    /// <summary>The instance is gone: its device's DMA domain is reset (nothing in flight may
    /// reach memory any more) and its PCI devices are released (thesis §3.4, last part). Should
    /// the next instance map DMA before the reset arrives, the IOMMU driver resets the old
    /// domain itself, since the PCI-bus driver says the device has a new holder.</summary>
    private void ReleaseDevices(Service s)
    {
        if (s.Policy.PciDevices.Count + s.Policy.PciClasses.Count == 0) return;
        Tell(Endpoint.Iommu, IommuClient.ResetMessage(s.Endpoint), $"the reset of the DMA domains of {s.Label}");
        Tell(Endpoint.Pci, PciClient.DelAclMessage(s.Endpoint), $"the release of the PCI devices of {s.Label}");
    }

    private void PublishRestart(Service s)
    {
        string ev = string.Create(CultureInfo.InvariantCulture,
            $"label={s.Label} incarnation={s.Incarnation} cause={s.LastReason.Text()} backoff_ms={s.LastBackoffMs} failed_at={s.LastFailureAt} restarted_at={Now} endpoint={s.Endpoint}");
        Log("restart " + ev);
        if (s.RestartEvents.Count >= Service.MaxRestartEvents) s.RestartEvents.Dequeue();
        s.RestartEvents.Enqueue(ev);
        PublishRestartEvents(s);
    }

    /// <summary>rs.restart.LABEL holds the service's last MaxRestartEvents events, one line
    /// each, oldest first: a subscriber that looks late still sees every recent restart.</summary>
    private void PublishRestartEvents(Service s)
    {
        var text = new StringBuilder();
        foreach (var e in s.RestartEvents) text.Append(e).Append('\n');
        _ds.PublishMem("rs.restart." + s.Label, Encoding.UTF8.GetBytes(text.ToString()), Now);
    }

    private void RepublishRestartEvents()
    {
        foreach (var s in _services.Values)
            if (s.RestartEvents.Count > 0) PublishRestartEvents(s);
    }

    private void CollectExits()
    {
        while (PmClient.Wait(out var exit) == Err.Ok && exit.Endpoint != Endpoint.None)
        {
            var s = ServiceAt(exit.Endpoint);
            if (s is not null) OnExit(s, exit);
            else if (ScriptOwner(exit.Endpoint) is { } owner) OnScriptExit(owner, exit);
        }
    }

    /// <summary>Fig. 4.1's defect classes in words: exit, panic, exception, terminated, plus the
    /// ones RS causes itself (no-heartbeat, complaint, restart, update, down).</summary>
    private static FailureCause Classify(in ExitInfo exit, (int Kind, string Text)? report, out string detail)
    {
        string said = report is { } r ? $" ({r.Text})" : "";
        if (report is { Kind: CrashReportPayload.Panic })
        {
            detail = $"panic{said}";
            return FailureCause.Panic;
        }
        if (exit.How == ExitInfo.Exited)
        {
            detail = report is null ? $"exit status {exit.Status}" : $"exception{said}, exit status {exit.Status}";
            return report is null ? FailureCause.Exit : FailureCause.Exception;
        }
        string sig = CpuFault.Name(exit.Status);
        bool cpu = CpuFault.Is(exit.Status);
        detail = cpu ? $"exception{said}, {sig}" : $"terminated by {sig}";
        return cpu ? FailureCause.Exception : FailureCause.Terminated;
    }

    private void OnExit(Service s, in ExitInfo exit)
    {
        var cause = Classify(exit, s.CrashReport, out string detail);
        var reason = s.PendingReason ?? cause;
        ReleaseDevices(s);
        if (s.PendingReason is { } pending) detail = $"{pending.Text()} ({detail})";
        s.Endpoint = Endpoint.None;
        s.CrashReport = null;
        s.PendingReason = null;
        long now = Now;
        switch (s.State)
        {
            case ServiceState.Stopping:
                Log($"down {s.Label}: {detail}");
                Remove(s);
                return;
            case ServiceState.Updating:
                s.SavingState = false;
                ApplyUpdate(s);
                s.LastReason = FailureCause.Update;
                s.LastFailureAt = now;
                s.LastBackoffMs = 0;
                if (StartInstance(s) != Err.Ok) Fail(s, "update: cannot start the new binary");
                return;
        }
        bool wasHealthy = s.State == ServiceState.Running && now - s.RunningSince >= _opt.HealthyMs;
        if (wasHealthy) s.BackoffLevel = 0;
        s.LastReason = reason;
        s.LastFailureAt = now;
        Log($"{s.Label} failed: {detail}");
        if (reason == FailureCause.Restart)
        {
            // Explicit refresh or restart: at once, not counted as a failure.
            s.LastBackoffMs = 0;
            if (StartInstance(s) != Err.Ok) Fail(s, "cannot restart");
            return;
        }
        s.RecentFailures.Enqueue(now);
        while (s.RecentFailures.Count > 0 && now - s.RecentFailures.Peek() > _opt.FailureWindowMs) s.RecentFailures.Dequeue();
        if (s.Spec.Recovery.Length > 0)
        {
            // The script decides what repeated failures mean (thesis §4.2.1: back off, alert,
            // give up); RS's own failure limit is for services without one.
            RunScript(s, reason);
            return;
        }
        if (s.RecentFailures.Count >= _opt.MaxFailures)
        {
            Fail(s, string.Create(CultureInfo.InvariantCulture, $"{s.RecentFailures.Count} failures within {_opt.FailureWindowMs} ms (last: {reason.Text()})"));
            return;
        }
        long delay = s.Spec.NoBackoff ? 0 : _opt.BackoffMs(s.BackoffLevel);
        s.BackoffLevel++;
        ScheduleRestart(s, delay, now);
        if (delay == 0) RestartNow(s);
    }

    private void RestartNow(Service s)
    {
        if (StartInstance(s) == Err.Ok) return;
        // Could not even start it: counts as another failure, with the next backoff step.
        long now = Now;
        s.RecentFailures.Enqueue(now);
        while (s.RecentFailures.Count > 0 && now - s.RecentFailures.Peek() > _opt.FailureWindowMs) s.RecentFailures.Dequeue();
        if (s.RecentFailures.Count >= _opt.MaxFailures)
        {
            Fail(s, "cannot start it");
            return;
        }
        long delay = s.Spec.NoBackoff ? 0 : _opt.BackoffMs(Math.Max(1, s.BackoffLevel++));
        ScheduleRestart(s, delay, Now);
    }

    private static void DropImage(Service s)
    {
        if (s.ImageId != 0) SysCall.ImageDelete(s.ImageId);
        s.ImageId = 0;
    }

    private static void ApplyUpdate(Service s)
    {
        if (s.UpdateTo is null) return;
        s.Spec = s.UpdateTo;
        s.UpdateTo = null;
        DropImage(s);
        if (s.Image is not null)
        {
            try { s.Image = File.ReadAllBytes(s.Spec.Binary); }
            catch (IOException) { s.Image = null; }
        }
    }

    /// <summary>RS ends an instance itself; the reason replaces the exit's own cause.</summary>
    private void Kill(Service s, FailureCause reason)
    {
        s.PendingReason = reason;
        int r = PmClient.Kill(s.Endpoint, SigKill);
        if (r != Err.Ok) Log($"cannot kill {s.Label}: {Err.Name(r)}");
    }

    /// <summary>The old instance saved its state (or ran out of time): stop it for the update.</summary>
    private void StopForUpdate(Service s)
    {
        s.SavingState = false;
        Stop(s, FailureCause.Update);
    }

    /// <summary>The clock: heartbeats, deadlines, scheduled restarts, script watchdog.</summary>
    private void Tick()
    {
        long now = Now;
        long gap = _lastTick == 0 ? 0 : now - _lastTick;
        _lastTick = now;
        if (gap > Math.Max(StalledMs, 10 * _opt.TickMs)) Stalled(gap, now);
        _ds.Pump(now);
        if (_untold.Count > 0) TellQueued();
        if (now - _lastVerified >= VerifyMs) VerifyInstances(now);
        foreach (var s in _services.Values.ToList())
        {
            WatchScript(s, now);
            switch (s.State)
            {
                case ServiceState.Starting when s.Held:
                    if (now - s.HeldSince >= _opt.HoldTimeoutMs) Release(s);
                    break;
                case ServiceState.Starting when now > s.Deadline && s.HasInstance && s.PendingReason is null:
                    Kill(s, FailureCause.InitTimeout);
                    break;
                case ServiceState.Running when PeriodMs(s) > 0 && s.HasInstance && s.PendingReason is null:
                    if (now - s.LastAlive > 2L * PeriodMs(s))
                    {
                        Kill(s, FailureCause.NoHeartbeat);
                    }
                    else if (now - s.LastPing >= PeriodMs(s))
                    {
                        s.LastPing = now;
                        IpcCall.Notify(s.Endpoint);
                    }
                    break;
                case ServiceState.Restarting when now >= s.Deadline:
                    RestartNow(s);
                    break;
                case ServiceState.Updating when s.SavingState && now > s.Deadline && s.HasInstance:
                    Log($"{s.Label} did not save its state within {_opt.StopTimeoutMs} ms; updating it anyway");
                    StopForUpdate(s);
                    break;
                case ServiceState.Stopping or ServiceState.Updating when now > s.Deadline && s.HasInstance:
                    PmClient.Kill(s.Endpoint, SigKill);
                    s.Deadline = long.MaxValue;
                    break;
            }
        }
    }

    private const long VerifyMs = 500;
    private long _lastVerified;

    /// <summary>RS never reports a state it has not verified: every VerifyMs it checks its
    /// services' processes against the kernel's table. One that is gone is normally reported by
    /// PM within milliseconds; with PM itself gone nobody will report it (and nothing can be
    /// started), so the service is marked lost instead of being shown running.</summary>
    private void VerifyInstances(long now)
    {
        _lastVerified = now;
        if (SysCall.ProcessTable(out var rows) != Err.Ok) return;
        var alive = new HashSet<int>();
        foreach (var p in rows)
            if (p.State != ProcState.Zombie) alive.Add(p.Endpoint);
        if (alive.Contains(Endpoint.Pm)) return;
        foreach (var s in _services.Values)
        {
            if (!s.HasInstance || alive.Contains(s.Endpoint)) continue;
            MarkLost(s);
        }
    }

    private const long StalledMs = 1000;
    private long _lastTick;

    /// <summary>RS itself did not run for <paramref name="gap"/> ms (stopped, or starved of CPU):
    /// that time is no service's fault. The heartbeat and initialization clocks of every
    /// service start again now; exits that happened meanwhile are still reported by PM with
    /// their own causes.</summary>
    private void Stalled(long gap, long now)
    {
        Log(string.Create(CultureInfo.InvariantCulture, $"RS did not run for {gap} ms; heartbeat and initialization deadlines start again"));
        foreach (var s in _services.Values)
        {
            s.LastAlive = s.LastPing = s.HeldSince = now;
            if (s.State == ServiceState.Starting) s.Deadline = Math.Max(s.Deadline, now + _opt.InitTimeoutMs);
        }
    }

    /// <summary>The heartbeat period: the service's -period, RS's default without one, or none.</summary>
    private long PeriodMs(Service s) => s.Spec.PeriodMs switch
    {
        0 => _opt.DefaultPeriodMs,
        > 0 => s.Spec.PeriodMs,
        _ => 0,
    };

    /// <summary>Ends a running recovery script (the service was restarted or removed otherwise);
    /// the kernel kills the script's whole process group.</summary>
    private static void StopScript(Service s)
    {
        if (s.Script == Endpoint.None) return;
        PmClient.Kill(s.Script, SigKill);
        s.Script = Endpoint.None;
    }

    /// <summary>The service whose recovery script is <paramref name="endpoint"/>.</summary>
    private Service? ScriptOwner(int endpoint) =>
        endpoint == Endpoint.None ? null : _services.Values.FirstOrDefault(s => s.Script == endpoint);

    /// <summary>A recovery script ended: once it has ended without restarting the service, the
    /// service is marked failed. A script that restarted it may go on (alerts) until the time-out.</summary>
    private void OnScriptExit(Service s, in ExitInfo exit)
    {
        s.Script = Endpoint.None;
        bool undecided = s.State == ServiceState.Recovering && !s.HasInstance;
        if (!undecided) return;
        string how = exit.How == ExitInfo.Exited
            ? string.Create(CultureInfo.InvariantCulture, $"exited with status {exit.Status}")
            : string.Create(CultureInfo.InvariantCulture, $"was killed by signal {exit.Status}");
        Fail(s, $"recovery script {how} without restarting it");
    }

    /// <summary>A script that hangs past the time-out is killed; if it had not restarted the
    /// service, the service is marked failed.</summary>
    private void WatchScript(Service s, long now)
    {
        if (s.Script == Endpoint.None || now <= s.ScriptDeadline) return;
        bool undecided = s.State == ServiceState.Recovering && !s.HasInstance;
        StopScript(s);
        if (undecided) Fail(s, string.Create(CultureInfo.InvariantCulture, $"recovery script hung, killed after {_opt.ScriptTimeoutMs} ms"));
    }
}
