// End to end with a booted instance (bulkhead-host with etc/boot.conf): `service up` of the
// test driver with the generic recovery script (etc/rs/generic.sh, thesis Fig. 4.2); the
// driver's host process is SIGKILLed; RS runs the script, which backs off and says
// `service restart` through <run>/bin/service; the driver comes back, restarted once, with the
// failure's cause. (-recovery takes no script parameters, so the -a alert is tested in
// Rs.RecoveryScriptTests.)
using System.Diagnostics;
using Bulkhead.Tests.Harness;

namespace Bulkhead.System.Tests;

public sealed class ServiceEndToEndTests : IDisposable
{
    private static readonly string Host = Path.Combine(AppContext.BaseDirectory, "bulkhead-host");
    private static readonly string Image = Path.Combine(AppContext.BaseDirectory, "bulkhead-image");
    private readonly string _run = Path.Combine(Path.GetTempPath(), $"bulkhead-test-svc-{Environment.ProcessId}-{Guid.NewGuid():N}");

    private (int Status, string Output) RunHost(params string[] args)
    {
        var psi = new ProcessStartInfo(Host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--root", TestSystem.RepoRoot(), "--run", _run }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "bulkhead-host did not finish");
        return (p.ExitCode, output);
    }

    private string? ListLine(string label) =>
        RunHost("service", "list").Output.Split('\n').FirstOrDefault(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } f && f[0] == label);

    public void Dispose()
    {
        RunHost("shutdown");
        try { Directory.Delete(_run, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void GenericScript_RestartsKilledDriver_ThroughServiceCommand()
    {
        var (status, output) = RunHost("boot", "--detach");
        Assert.True(status == 0, output);
        string script = Path.Combine(TestSystem.RepoRoot(), "etc", "rs", "generic.sh");
        var up = RunHost("service", "up", Image, "-args", "testdrv", "-label", "testdrv", "-recovery", script);
        Assert.True(up.Status == 0, up.Output);
        TestSystem.WaitUntil(() => ListLine("testdrv") is { } l && l.Contains("running", StringComparison.Ordinal), "testdrv running", 30_000);
        int kernel = int.Parse(File.ReadAllText(Path.Combine(_run, "kernel.pid")).Trim(), global::System.Globalization.CultureInfo.InvariantCulture);
        int pid = FindHostPid("testdrv", kernel);
        Process.GetProcessById(pid).Kill();
        TestSystem.WaitUntil(() => ListLine("testdrv") is { } l && l.Contains("running", StringComparison.Ordinal)
            && l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3] == "1", "testdrv restarted by the script", 30_000);
        Assert.Contains("terminated", ListLine("testdrv"));
    }

    /// <summary>The host pid of the process named <paramref name="name"/> among the children of
    /// this instance's kernel (other tests run test drivers of the same name at the same time).</summary>
    private static int FindHostPid(string name, int kernelPid)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int p)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[1] != kernelPid.ToString(global::System.Globalization.CultureInfo.InvariantCulture)) continue;
                var argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (argv.Length > 2 && argv.Contains("testdrv") && argv[0] == name) return p;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        throw new InvalidOperationException($"no host process {name}");
    }
}
