// Linux's fsck.minix (util-linux) as the oracle for images Bulkhead wrote: `-f` exits 0 and says
// nothing but its banner on a clean file system; `-l` lists every name. The same checks as
// tests/Servers.Tests/Mfs/MinixTools.cs, for the booted instances here; FsckFact skips where
// the tool is missing.
using System.Diagnostics;

namespace Bulkhead.System.Tests;

public static class Fsck
{
    public static readonly string? Tool = new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }
        .Select(d => Path.Combine(d, "fsck.minix")).FirstOrDefault(File.Exists);

    public static void AssertClean(string image)
    {
        var (code, output) = Run("-f", image);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("Forcing filesystem check", StringComparison.Ordinal)).ToList();
        Assert.True(code == 0 && lines.Count == 0, $"fsck.minix -f exit {code}:\n{output}");
    }

    /// <summary>The names fsck.minix -l lists (paths from the root, directories without the ':').</summary>
    public static SortedSet<string> Names(string image)
    {
        var (code, output) = Run("-fl", image);
        Assert.True(code == 0, $"fsck.minix -fl exit {code}:\n{output}");
        return new SortedSet<string>(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith('/')).Select(l => l.TrimEnd(':')), StringComparer.Ordinal);
    }

    private static (int Code, string Output) Run(string flags, string image)
    {
        var psi = new ProcessStartInfo(Tool!) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(flags);
        psi.ArgumentList.Add(image);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "fsck.minix did not finish");
        return (p.ExitCode, output + err.Result);
    }
}

public sealed class FsckFactAttribute : FactAttribute
{
    public FsckFactAttribute()
    {
        if (Fsck.Tool is null) Skip = "fsck.minix not installed (apt-get install util-linux)";
    }
}
