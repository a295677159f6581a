// Tunables of the driver manager, from its arguments ("key=value" after the policy file).
// Defaults follow MINIX where MINIX has a number (docs/reference.md, "MINIX RS numbers"): first restart at once, then
// 2^n seconds capped at 30 s; a heartbeat missed for two periods kills the service; 10 s to
// finish initialization; 2 s between SIGTERM and SIGKILL; heartbeats every 5 s unless a service
// asks otherwise (thesis Fig. 2.4). Bulkhead's additions: the backoff
// resets after a healthy period of 60 s, and a service that fails 5 times within 60 s is
// marked failed and left down until `service refresh`.
using System.Globalization;

namespace Bulkhead.Servers.Rs;

public sealed class RsOptions
{
    public string PolicyFile { get; set; } = "";
    public long BackoffBaseMs { get; set; } = 1000;
    public long BackoffCapMs { get; set; } = 30_000;
    public long HealthyMs { get; set; } = 60_000;
    public int MaxFailures { get; set; } = 5;
    public long FailureWindowMs { get; set; } = 60_000;
    public long InitTimeoutMs { get; set; } = 10_000;
    public long StopTimeoutMs { get; set; } = 2_000;
    public long ScriptTimeoutMs { get; set; } = 60_000;
    public long TickMs { get; set; } = 50;
    /// <summary>Longest time a new instance is held (created, none of its IPC served) while RS
    /// waits for DS to have its label and the PCI-bus driver its ACL (docs/rs.md, "Starting a
    /// service"): a stopped or dead DS or bus driver delays a start by this much, not forever.</summary>
    public long HoldTimeoutMs { get; set; } = 2000;
    /// <summary>Heartbeat period of a service started without -period and of the boot
    /// processes RS adopts (thesis Fig. 2.4's default, 5 s).</summary>
    public int DefaultPeriodMs { get; set; } = 5000;

    public static RsOptions Parse(string[] args)
    {
        var o = new RsOptions();
        foreach (var a in args)
        {
            int eq = a.IndexOf('=');
            if (eq < 0)
            {
                o.PolicyFile = a;
                continue;
            }
            long v = long.Parse(a[(eq + 1)..], CultureInfo.InvariantCulture);
            switch (a[..eq])
            {
                case "backoff_base_ms": o.BackoffBaseMs = v; break;
                case "backoff_cap_ms": o.BackoffCapMs = v; break;
                case "healthy_ms": o.HealthyMs = v; break;
                case "max_failures": o.MaxFailures = (int)v; break;
                case "failure_window_ms": o.FailureWindowMs = v; break;
                case "init_timeout_ms": o.InitTimeoutMs = v; break;
                case "stop_timeout_ms": o.StopTimeoutMs = v; break;
                case "script_timeout_ms": o.ScriptTimeoutMs = v; break;
                case "hold_timeout_ms": o.HoldTimeoutMs = v; break;
                case "default_period_ms": o.DefaultPeriodMs = checked((int)v); break;
                default: throw new ArgumentException($"rs: unknown option '{a[..eq]}'");
            }
        }
        return o;
    }

    /// <summary>Delay before restart number <paramref name="level"/> (0 = first failure: at once).</summary>
    public long BackoffMs(int level) =>
        level <= 0 ? 0 : Math.Min(BackoffCapMs, BackoffBaseMs << Math.Min(level - 1, 30));
}
