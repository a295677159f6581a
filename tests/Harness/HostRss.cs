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
}
