// Helpers shared by the recovery suite: reading RS's table rows and restart log lines, waiting
// for restarts, and holding a condition for a while.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Bulkhead.Tests.Harness;

public static partial class RsKit
{
    /// <summary>Endpoint column of a table row.</summary>
    public static int Ep(string[] row) => int.Parse(row[1], CultureInfo.InvariantCulture);

    public static int Restarts(string[] row) => int.Parse(row[3], CultureInfo.InvariantCulture);

    /// <summary>Waits until <paramref name="label"/> is running with <paramref name="restarts"/> restarts; returns its row.</summary>
    public static string[] WaitRestarts(this RsSystem rs, string label, int restarts, int timeoutMs = 20_000)
    {
        TestSystem.WaitUntil(() => rs.Row(label) is { Length: > 3 } r && r[2] == "running" && r[3] == restarts.ToString(CultureInfo.InvariantCulture),
            $"{label} running after {restarts} restart(s)", timeoutMs);
        return rs.Row(label);
    }

    /// <summary>Fails the test if <paramref name="cond"/> stops holding within <paramref name="ms"/>.</summary>
    public static void Holds(Func<bool> cond, int ms, string what)
    {
        var until = DateTime.UtcNow.AddMilliseconds(ms);
        while (DateTime.UtcNow < until)
        {
            Assert.True(cond(), what);
            Thread.Sleep(20);
        }
    }

    /// <summary>backoff_ms of every "rs: restart label=…" line for <paramref name="label"/>, in order.</summary>
    public static List<long> Backoffs(this RsSystem rs, string label) =>
        [.. rs.Sys.Console.Lines
            .Select(l => RestartLine().Match(l))
            .Where(m => m.Success && m.Groups[1].Value == label)
            .Select(m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))];

    /// <summary>The console so far, for assertion messages.</summary>
    public static string Console(this RsSystem rs) => string.Join("\n", rs.Sys.Console.Lines);

    [GeneratedRegex(@"rs: restart label=(\S+) .*backoff_ms=(\d+)")]
    private static partial Regex RestartLine();
}
