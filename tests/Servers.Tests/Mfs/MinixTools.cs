// Linux's mkfs.minix and fsck.minix (util-linux), the oracles no one here wrote: images made
// by `mkfs.minix -3` for the engine to mount, and `fsck.minix -f` (exit 0 and nothing but its
// banner = clean) on every image the engine wrote. MinixFact/MinixTheory skip, with the
// reason, where the tools are missing (apt-get install util-linux provides them).
using System.Diagnostics;

namespace Bulkhead.Servers.Tests.Mfs;

public static class MinixTools
{
    private static readonly string[] Dirs = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    public static string? Find(string tool) => Dirs.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    public static string? WhyNot() =>
        !OperatingSystem.IsLinux() ? "mkfs.minix/fsck.minix need Linux"
        : Find("mkfs.minix") is null || Find("fsck.minix") is null ? "mkfs.minix/fsck.minix not installed (apt-get install util-linux)"
        : null;

    /// <summary>A fresh image file of <paramref name="blocks"/> KiB made by `mkfs.minix -3`.</summary>
    public static string MakeImage(TempDir dir, int blocks, int inodes = 0)
    {
        string path = dir.File($"linux-{blocks}.img");
        using (var f = File.Create(path)) f.SetLength(blocks * 1024L);
        var args = new List<string> { "-3" };
        if (inodes > 0) args.AddRange(["-i", inodes.ToString()]);
        args.Add(path);
        var (code, output) = Run(Find("mkfs.minix")!, args);
        Assert.True(code == 0, $"mkfs.minix failed ({code}): {output}");
        return path;
    }

    /// <summary>`fsck.minix -f` (and -l to list names): its exit code and output.</summary>
    public static (int Code, string Output) Fsck(string image, bool list = false) =>
        Run(Find("fsck.minix")!, list ? ["-f", "-l", image] : ["-f", image]);

    /// <summary>Asserts fsck.minix finds nothing: exit 0 and no line but its banner.</summary>
    public static void AssertClean(string image)
    {
        var (code, output) = Fsck(image);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("Forcing filesystem check", StringComparison.Ordinal)).ToList();
        Assert.True(code == 0 && lines.Count == 0, $"fsck.minix -f exit {code}:\n{output}");
    }

    /// <summary>The names fsck.minix -l lists (paths from the root, directories without their trailing ':').</summary>
    public static SortedSet<string> ListNames(string image)
    {
        var (code, output) = Fsck(image, list: true);
        Assert.True(code == 0, $"fsck.minix -fl exit {code}:\n{output}");
        return new SortedSet<string>(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith('/')).Select(l => l.TrimEnd(':')), StringComparer.Ordinal);
    }

    private static (int, string) Run(string exe, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), $"{exe} did not finish");
        return (p.ExitCode, output + err.Result);
    }
}

public sealed class MinixFactAttribute : FactAttribute
{
    public MinixFactAttribute() => Skip = MinixTools.WhyNot();
}

public sealed class MinixTheoryAttribute : TheoryAttribute
{
    public MinixTheoryAttribute() => Skip = MinixTools.WhyNot();
}

/// <summary>A temporary directory removed with the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bulkhead-mfs-" + Guid.NewGuid().ToString("N")[..12]);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
