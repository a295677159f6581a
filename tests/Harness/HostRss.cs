// The anonymous resident memory of a component's host process (RssAnon in /proc/<pid>/status:
// the GC heap, not the pages of the runtime's and the JIT's files, which grow when tiered
// compilation happens to run), for tests that check that a server's memory levels off instead of
// growing with its requests.
using System.Globalization;

namespace Bulkhead.Tests.Harness;

public static class HostRss
{
    /// <summary>RssAnon of the host process of <paramref name="endpoint"/>, in KiB.</summary>
    public static long AnonKiB(TestSystem sys, int endpoint)
    {
        int pid = sys.Find(endpoint)?.HostPid ?? 0;
        Assert.True(pid > 0, $"endpoint {endpoint} has no host process");
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(8).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"no RssAnon for pid {pid}");
    }

    /// <summary>Fails when <paramref name="who"/>'s memory kept growing after sample
    /// <paramref name="from"/>: garbage kept grows it sample after sample, while what the runtime
    /// does once (a method compiled again by tiered compilation, a thread stack touched) is a
    /// single step, so at most <paramref name="steps"/> later samples may be larger than the one
    /// before.</summary>
    public static void AssertLevelsOff(IReadOnlyList<long> rss, int from, int steps, string who)
    {
        int grew = Enumerable.Range(from + 1, rss.Count - from - 1).Count(i => rss[i] > rss[i - 1]);
        Assert.True(grew <= steps, $"{who} grew in {grew} of its last {rss.Count - from - 1} rounds (KiB): {string.Join(' ', rss)}");
    }
}
