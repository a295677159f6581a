// Whether RS answers a service component (ServiceRunner): every Poll the component's row and
// RS's are read from the kernel's table; Expired says when the component has waited on RS
// (BlockedOn RS: queued for RS's RECEIVE, or waiting for its reply) past the ServiceDeadlines —
// RsStopped while RS's host process is stopped (state T in /proc/PID/stat: it runs no
// instruction until continued), RsRunning while it runs (hung or overloaded), but never before
// RS is RsStartup old (a young RS is still initializing) — or has lived past Total, and why.
// Rules: the time counts from the first poll that sees the wait, so a component is never given
// up sooner than its deadline; the kernel is read only through its thread-safe entry points.
using System.Globalization;
using Bulkhead.Lib.Control;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Main.Control;

internal sealed class RsWatch(ServiceDeadlines deadlines)
{
    /// <summary>How often the kernel's table is read while a component runs.</summary>
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    private readonly DateTime _started = DateTime.UtcNow;
    private DateTime? _blockedSince, _stoppedSince;

    /// <summary>Set when RS was found not to answer: whether it had taken the request (the
    /// component waited for the reply) or not (the request still waited in RS's queue).</summary>
    public bool? Delivered { get; private set; }

    /// <summary>"RS (endpoint 2) does not answer (…)" with the cause.</summary>
    public static string Silent(string cause) => $"RS (endpoint {Endpoint.Rs}) does not answer ({cause})";

    /// <summary>Silent(…) when RS's host process is stopped now, else null.</summary>
    public static string? RsStopped(IReadOnlyList<ProcInfo> table)
    {
        foreach (var p in table)
            if (p.Endpoint == Endpoint.Rs && p.State != ProcState.Zombie && HostStopped(p.HostPid))
                return Stopped(p.HostPid);
        return null;
    }

    private static string Stopped(int pid) => Silent($"its host process, pid {pid}, is stopped");

    /// <summary>Why component <paramref name="ep"/> is not served any longer, or null while it may wait.</summary>
    public string? Expired(Kernel kernel, int ep)
    {
        var now = DateTime.UtcNow;
        if (now - _started >= deadlines.Total)
            return string.Create(CultureInfo.InvariantCulture, $"the service component did not finish within {deadlines.Total.TotalSeconds:0.#} s");
        if (now - _started < Poll) return null; // most requests are answered before the first look
        ProcInfo? self = null, rs = null;
        foreach (var p in kernel.ProcessTable())
        {
            if (p.Endpoint == ep) self = p;
            else if (p.Endpoint == Endpoint.Rs && p.State != ProcState.Zombie) rs = p;
        }
        if (self is not { BlockedOn: Endpoint.Rs } me || rs is not { } r)
        {
            _blockedSince = _stoppedSince = null;
            return null;
        }
        _blockedSince ??= now;
        bool stopped = HostStopped(r.HostPid);
        _stoppedSince = stopped ? _stoppedSince ?? now : null;
        string? why = null;
        if (_stoppedSince is { } since && now - since >= deadlines.RsStopped)
            why = Stopped(r.HostPid);
        else if (!stopped && now - _blockedSince.Value >= deadlines.RsRunning && kernel.UptimeNs - r.StartUptimeNs >= Ns(deadlines.RsStartup))
            why = Silent(string.Create(CultureInfo.InvariantCulture, $"no reply within {deadlines.RsRunning.TotalSeconds:0.#} s"));
        if (why is not null) Delivered = me.State != ProcState.SendRec;
        return why;
    }

    private static long Ns(TimeSpan t) => t.Ticks * 100;

    /// <summary>True when host process <paramref name="pid"/> is stopped (state T or t).</summary>
    private static bool HostStopped(int pid)
    {
        if (pid <= 0) return false;
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is 'T' or 't';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
