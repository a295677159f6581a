// A booted instance as a user runs it: bulkhead-host with a run directory of its own, a boot
// configuration (etc/boot.conf, or a variant of it the test writes), and the host commands
// (`ps`, `service`, `log`, ...) run against it. Disposing shuts the instance down.
namespace Bulkhead.Tests.Harness;

public sealed class HostInstance : IDisposable
{
    public string RunDir { get; } = Path.Combine(Path.GetTempPath(), $"bulkhead-test-host-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>etc/boot.conf with each (old, new) replacement made, written into the run directory.</summary>
    public string ConfigVariant(params (string Old, string New)[] edits)
    {
        string text = File.ReadAllText(Path.Combine(TestSystem.RepoRoot(), "etc", "boot.conf"));
        foreach (var (old, @new) in edits)
        {
            Assert.Contains(old, text);
            text = text.Replace(old, @new, StringComparison.Ordinal);
        }
        Directory.CreateDirectory(RunDir);
        string file = Path.Combine(RunDir, "boot.conf");
        File.WriteAllText(file, text);
        return file;
    }

    public (int Status, string Output) Run(params string[] args) => HostTool.Run(RunDir, args);

    /// <summary>Runs a host command that must succeed; its output.</summary>
    public string Ok(params string[] args)
    {
        var (status, text) = Run(args);
        Assert.True(status == 0, $"bulkhead-host {string.Join(' ', args)} exited {status}: {text}");
        return text;
    }

    /// <summary>`ps` rows by process name, each a map from column header to value (the service
    /// columns only on rows of services).</summary>
    public Dictionary<string, Dictionary<string, string>> Processes()
    {
        string ps = Ok("ps");
        return ParsePs(ps);
    }

    /// <summary>Processes(), or none when `ps` fails this time (a loaded machine can make the
    /// instance slow to answer); for polling.</summary>
    public Dictionary<string, Dictionary<string, string>> TryProcesses()
    {
        var (status, ps) = Run("ps");
        return status == 0 ? ParsePs(ps) : [];
    }

    /// <summary>The last <paramref name="lines"/> lines of the instance's system log, for failure messages.</summary>
    public string LogTail(int lines = 40)
    {
        var (_, log) = Run("log");
        return string.Join('\n', log.Split('\n').TakeLast(lines));
    }

    private static Dictionary<string, Dictionary<string, string>> ParsePs(string ps)
    {
        var lines = ps.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var rows = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3) continue;
            var row = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < Math.Min(f.Length, header.Length); i++) row[header[i]] = f[i];
            if (row.TryGetValue("NAME", out var name)) rows[name] = row;
        }
        return rows;
    }

    public void Dispose()
    {
        if (File.Exists(Path.Combine(RunDir, "control.sock"))) Run("shutdown");
        try { Directory.Delete(RunDir, recursive: true); }
        catch (IOException) { }
    }
}
