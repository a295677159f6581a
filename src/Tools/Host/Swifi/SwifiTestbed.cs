// What a SWIFI campaign (SwifiCampaign) runs against: a booted instance with the target driver
// under RS and a workload that uses it (docs/swifi.md, "Testbeds"). SwifiNetTestbed: a network
// driver, TCP requests to Linux peers through INET (§5.1.2). SwifiBlockTestbed: at_wini on a
// second disk behind the filter driver, files written and read back through MFS (§5.1.3).
// Rules: Workload answers within its own time-outs (null when it worked, else what failed) and
// may be asked again at once; Observe gets every system-log line once, in order.
namespace Bulkhead.Host.Swifi;

internal interface ISwifiTestbed : IDisposable
{
    /// <summary>The target's RS label and its program image (DriverText's name for it).</summary>
    string Label { get; }
    string Driver { get; }
    string Socket { get; }
    string SystemLog { get; }
    /// <summary>How long RS and the target's clients get to catch a driver that failed the workload, seconds.</summary>
    int CatchS { get; }

    Dictionary<string, (int? Pid, int Restarts)> Services();
    /// <summary>The host pid of the target once RS runs an instance other than <paramref name="old"/>.</summary>
    int WaitDriver(int? old);
    void WaitUntil(Func<bool> done, int seconds, string what);
    /// <summary>Trial <paramref name="trial"/>'s workload: null when it worked, else what failed.</summary>
    string? Workload(int trial);
    /// <summary>After a replacement: whether the new instance serves the workload (null: it
    /// does); may be lighter than Workload, and is asked until it answers null.</summary>
    string? Probe(int trial);
    /// <summary>New system-log lines, for what the testbed counts (Counters).</summary>
    void Observe(IReadOnlyList<string> lines);
    /// <summary>What the testbed counted over the campaign, read at its end (empty: nothing).</summary>
    Dictionary<string, long> Counters();
}

internal static class SwifiPrograms
{
    /// <summary>A Bulkhead program's exit status (-1 when it could not be run or did not end in
    /// <paramref name="timeoutS"/>) and its output, trimmed. <paramref name="run"/>: the
    /// instance's Run (args, time-out, stdin file).</summary>
    public static (int Status, string Text) Run(Func<string[], int, string?, (int Status, string Stdout, string Stderr)> run,
                                                string[] args, int timeoutS, string? stdinFile = null)
    {
        try
        {
            var r = run(args, timeoutS, stdinFile);
            return (r.Status, (r.Stdout + r.Stderr).Trim());
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            return (-1, e.Message.Split('\n')[0]);
        }
    }
}
