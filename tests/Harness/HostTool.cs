// bulkhead-host as a user runs it, from the test's output directory: `--root` the repository,
// `--run` the test's own run directory, then the command. Returns the exit status and stdout
// followed by stderr.
using System.Diagnostics;

namespace Bulkhead.Tests.Harness;

public static class HostTool
{
    public static readonly string Path = System.IO.Path.Combine(AppContext.BaseDirectory, "bulkhead-host");

    public static (int Status, string Output) Run(string runDir, params string[] args)
    {
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--root", TestSystem.RepoRoot(), "--run", runDir }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(90_000), $"bulkhead-host {string.Join(' ', args)} did not finish");
        return (p.ExitCode, stdout + stderr.Result);
    }
}
