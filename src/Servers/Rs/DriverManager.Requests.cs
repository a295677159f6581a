// RS requests (thesis Fig. 2.4, §4.2): up, down, refresh, restart, update and list from the
// service utility, complaints from components whose policy may control the target. Every
// request is checked completely before anything changes. Each handler returns an RsResult; a
// refusal's explanation goes back into the caller's buffer (DriverManager.Answer).
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Rs;

public sealed partial class DriverManager
{
    private const int MaxImageBytes = 48 << 20;

    /// <summary>The service utility runs with only SENDREC; services and drivers have more.
    /// Management requests are accepted from anyone but services themselves — and from init,
    /// a service RS restarts that runs etc/rc (MINIX's /etc/rc runs `service` too).</summary>
    private bool IsManager(int caller) => caller == Endpoint.Init || ServiceAt(caller) is null;

    private RsResult DoUp(int caller, BufferRequest req)
    {
        if (!IsManager(caller)) return RsResult.Refused(Err.EPERM, "services may not start services");
        int r = ReadText(caller, req, ServiceSpec.MaxBytes, out string text);
        if (r != Err.Ok) return RsResult.Refused(r, "cannot read the request");
        if (!ServiceSpec.TryParse(text, out var spec, out string error)) return RsResult.Refused(Err.EINVAL, error);
        if (_services.ContainsKey(spec.Label)) return RsResult.Refused(Err.EEXIST, $"a service labelled '{spec.Label}' exists");
        if (_services.Count >= MaxServices) return RsResult.Refused(Err.ENOSPC, "service table full");
        if (spec.Binary.Length == 0 || !File.Exists(spec.Binary)) return RsResult.Refused(Err.ENOENT, $"no binary '{spec.Binary}'");
        var policies = spec.Isolation.Length > 0 ? LoadPoliciesOrNull(spec.Isolation, out error) : _policies;
        if (policies is null) return RsResult.Refused(Err.EINVAL, error);
        string entry = spec.Policy.Length > 0 ? spec.Policy : spec.Label;
        if (!policies.TryGet(entry, out var policy)) return RsResult.Refused(Err.ESRCH, $"no policy '{entry}' in {policies.File}");
        if (_claims.FindConflict(spec.Label, policy) is { } conflict) return RsResult.Refused(Err.EBUSY, conflict);
        byte[]? image = null;
        if (spec.Mirror)
        {
            // A framework-dependent .NET apphost finds its .dll next to its own path; run from
            // memory it has no path, so it could never restart. Say so now, not at the first crash.
            if (File.Exists(Path.ChangeExtension(spec.Binary, ".runtimeconfig.json")))
                return RsResult.Refused(Err.EINVAL, $"-mirror needs a self-contained binary: {spec.Binary} is a .NET apphost that needs its .dll beside it (use the NativeAOT image in out/aot)");
            try { image = File.ReadAllBytes(spec.Binary); }
            catch (IOException e) { return RsResult.Refused(Err.EIO, e.Message); }
            if (image.Length > MaxImageBytes) return RsResult.Refused(Err.E2BIG, "binary too large to mirror");
        }
        var s = new Service(spec, policy, image);
        _claims.TryClaim(spec.Label, policy, out _);
        _services[spec.Label] = s;
        r = StartInstance(s);
        if (r != Err.Ok)
        {
            _services.Remove(spec.Label);
            _claims.Release(spec.Label);
            DropImage(s); // the kernel's copy of a -mirror binary (at most 32 exist)
            return RsResult.Refused(r, CannotStart(r, spec.Binary));
        }
        Log($"up {s.Label}: endpoint {s.Endpoint}, policy {policy.Origin}{(image is null ? "" : ", mirrored in memory")}");
        return RsResult.Started(s.Endpoint);
    }

    private static Policy.PolicySet? LoadPoliciesOrNull(string file, out string error)
    {
        error = "";
        try { return Policy.PolicySet.Load(file); }
        catch (Exception e) when (e is Policy.PolicyException or IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return null;
        }
    }

    private RsResult DoDown(int caller, BufferRequest req)
    {
        var found = Lookup(caller, req, out var s);
        if (!found.IsOk) return found;
        if (s!.IsBoot) return RsResult.Refused(Err.EPERM, BootOnly(s));
        if (!s!.HasInstance)
        {
            Remove(s);
            Log($"down {s.Label}");
            return RsResult.Ok;
        }
        BeginStop(s);
        return RsResult.Ok;
    }

    private RsResult DoRefresh(int caller, BufferRequest req)
    {
        var found = Lookup(caller, req, out var s, controllable: true);
        if (!found.IsOk) return found;
        if (s!.State is ServiceState.Stopping or ServiceState.Updating) return RsResult.Refused(Err.EBUSY, $"{s.Label} is {s.State}");
        if (s.HasInstance)
        {
            Kill(s, FailureCause.Restart);
            return RsResult.Ok;
        }
        // A dead or failed service: start it again with a clean record.
        s.RecentFailures.Clear();
        s.BackoffLevel = 0;
        int r = StartDead(s);
        return r == Err.Ok ? RsResult.Ok : RsResult.Refused(r, CannotStart(r, "it"));
    }

    private RsResult DoRestart(int caller, BufferRequest req)
    {
        var found = Lookup(caller, req, out var s, controllable: true);
        if (!found.IsOk) return found;
        if (s!.State is ServiceState.Stopping or ServiceState.Updating) return RsResult.Refused(Err.EBUSY, $"{s.Label} is {s.State}");
        if (s.HasInstance)
        {
            Kill(s, FailureCause.Restart);
            return RsResult.Ok;
        }
        int r = StartDead(s);
        return r == Err.Ok ? RsResult.Started(s.Endpoint) : RsResult.Refused(r, CannotStart(r, "it"));
    }

    /// <summary>Refresh or restart of a service with no instance (backoff pending, script
    /// running, or failed): start it now; the restart it completes is an explicit one. A running
    /// recovery script (which may be the caller) is left to finish.</summary>
    private int StartDead(Service s)
    {
        // A recovery script or an impatient administrator completes the recovery from the
        // failure on record; a failed service comes back by explicit request.
        if (s.State == ServiceState.Failed || s.LastReason == FailureCause.None) s.LastReason = FailureCause.Restart;
        s.LastBackoffMs = 0;
        s.LastFailureAt = Now;
        return StartInstance(s);
    }

    private RsResult DoUpdate(int caller, BufferRequest req)
    {
        if (!IsManager(caller)) return RsResult.Refused(Err.EPERM, "services may not update services");
        int r = ReadText(caller, req, ServiceSpec.MaxBytes, out string text);
        if (r != Err.Ok) return RsResult.Refused(r, "cannot read the request");
        if (!ServiceSpec.TryParse(text, out var spec, out string error)) return RsResult.Refused(Err.EINVAL, error);
        if (!_services.TryGetValue(spec.Label, out var s)) return RsResult.Refused(Err.ESRCH, $"no service '{spec.Label}'");
        if (s.IsBoot) return RsResult.Refused(Err.EPERM, BootOnly(s));
        if (spec.Binary.Length == 0 || !File.Exists(spec.Binary)) return RsResult.Refused(Err.ENOENT, $"no binary '{spec.Binary}'");
        if (s.State is ServiceState.Stopping or ServiceState.Updating) return RsResult.Refused(Err.EBUSY, $"{s.Label} is {s.State}");
        // Keep what the update does not name.
        spec.PeriodMs = spec.PeriodMs != 0 ? spec.PeriodMs : s.Spec.PeriodMs;
        if (spec.Args.Length == 0) spec.Args = s.Spec.Args;
        if (spec.Recovery.Length == 0) spec.Recovery = s.Spec.Recovery;
        if (spec.Isolation.Length == 0) spec.Isolation = s.Spec.Isolation;
        if (spec.Policy.Length == 0) spec.Policy = s.Spec.Policy;
        s.UpdateTo = spec;
        if (!s.HasInstance)
        {
            ApplyUpdate(s);
            r = StartDead(s);
            s.LastReason = FailureCause.Update;
            return r == Err.Ok ? RsResult.Ok : RsResult.Refused(r, CannotStart(r, "the new binary"));
        }
        BeginUpdate(s);
        return RsResult.Ok;
    }

    private RsResult DoList(int caller, BufferRequest req)
    {
        var sb = new StringBuilder();
        sb.Append("LABEL ENDPOINT STATE RESTARTS REASON INCARNATION\n");
        foreach (var s in _services.Values.OrderBy(s => s.Label, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"{s.Label} {(s.HasInstance ? s.Endpoint.ToString(CultureInfo.InvariantCulture) : "-")} {s.State.Text()} {s.Restarts} {(s.LastReason == FailureCause.None ? "-" : s.LastReason.Text())} {s.Incarnation}\n");
        }
        return RsResult.Wrote(WriteBack(caller, req, sb.ToString()));
    }

    /// <summary>Complaint (thesis §4.1.3): only a component whose policy may control the target.</summary>
    private RsResult DoComplain(int caller, ComplainRequest req)
    {
        var complainer = ServiceAt(caller);
        var target = ServiceAt(req.Target);
        if (target is null) return RsResult.Refused(Err.ESRCH, "no such service");
        if (complainer is null || !complainer.Policy.MayControl(target.Label))
            return RsResult.Refused(Err.EPERM, $"{complainer?.Label ?? "caller"} may not control {target.Label}");
        Log($"complaint from {complainer.Label} about {target.Label}");
        Kill(target, FailureCause.Complaint);
        return RsResult.Ok;
    }

    /// <summary>Why a start failed, in words: EAGAIN from SPAWN is a full process table, not a
    /// problem of the binary; EDEADSRCDST is PM gone.</summary>
    private static string CannotStart(int error, string what) => error switch
    {
        Err.EAGAIN => $"cannot start {what}: the kernel's process table is full (no free slot; boot.conf's 'procs' sets its size)",
        Err.EDEADSRCDST => $"PM (endpoint {Endpoint.Pm}), which starts every process, is not running: cannot start {what}",
        _ => $"cannot start {what}",
    };

    private static string BootOnly(Service s) =>
        $"{s.Label} is a boot process (boot.conf): it can be restarted or refreshed, not stopped or replaced";

    /// <summary>The service a label request names, if the caller may manage it (OK), else the refusal.</summary>
    private RsResult Lookup(int caller, BufferRequest req, out Service? s, bool controllable = false)
    {
        s = null;
        var service = IsManager(caller) ? null : ServiceAt(caller);
        if (service is not null && !controllable) return RsResult.Refused(Err.EPERM, "services may not manage services");
        int r = ReadText(caller, req, 64, out string label);
        if (r != Err.Ok) return RsResult.Refused(r, "cannot read the label");
        label = label.Trim();
        // Fig. 2.6's `driver` key: a service may have the drivers its policy names restarted.
        if (service is not null && !service.Policy.MayControl(label))
            return RsResult.Refused(Err.EPERM, $"{service.Label} may not control {label}");
        if (!_services.TryGetValue(label, out s)) return RsResult.Refused(Err.ESRCH, $"no service '{label}'");
        return RsResult.Ok;
    }

    /// <summary>Copies the caller's granted text (at most <paramref name="max"/> bytes) into RS.</summary>
    private static int ReadText(int caller, BufferRequest req, int max, out string text)
    {
        text = "";
        if (req.Length <= 0 || req.Length > max) return Err.EINVAL;
        long buf = ArenaHeap.Allocate(req.Length);
        if (buf < 0) return Err.ENOMEM;
        try
        {
            int r = SysCall.SafeCopyFrom(caller, req.GrantId, 0, buf, req.Length);
            if (r != Err.Ok) return r;
            var bytes = Channel.Current.Arena.Slice((int)buf, req.Length);
            int nul = bytes.IndexOf((byte)0);
            text = Encoding.UTF8.GetString(nul < 0 ? bytes : bytes[..nul]);
            return Err.Ok;
        }
        finally
        {
            ArenaHeap.Free(buf);
        }
    }

    /// <summary>Writes text back into the caller's granted buffer; the bytes written, or an error.</summary>
    private static int WriteBack(int caller, BufferRequest req, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int n = Math.Min(bytes.Length, Math.Max(0, req.Length));
        if (n == 0) return 0;
        long buf = ArenaHeap.Allocate(n);
        if (buf < 0) return Err.ENOMEM;
        try
        {
            bytes.AsSpan(0, n).CopyTo(Channel.Current.Arena.Slice((int)buf, n));
            int r = SysCall.SafeCopyTo(caller, req.GrantId, 0, buf, n);
            return r == Err.Ok ? n : r;
        }
        finally
        {
            ArenaHeap.Free(buf);
        }
    }
}
