// INET's clock for the engine (docs/inet.md: "now is a monotonic clock in µs"): the host's
// monotonic clock through Stopwatch (a vDSO read, no kernel call per frame). Alarms are set
// relative to it with SETALARM, so the kernel's uptime and this clock need not agree.
using System.Diagnostics;

namespace Bulkhead.Servers.Inet.Server;

public static class InetClock
{
    private static readonly long s_start = Stopwatch.GetTimestamp();

    /// <summary>Microseconds since INET started (≥ 1, so that 0 never means "now").</summary>
    public static long NowUs => 1 + (long)((Stopwatch.GetTimestamp() - s_start) * (1_000_000.0 / Stopwatch.Frequency));
}
