// A booted instance for the file programs' tests: etc/boot.conf with init running a variant of
// etc/rc that starts only the storage stack — c0d0 (at_wini), mfs_root, the spare file servers
// mfs_1 and mfs_2, memory (with ram0) and VFS — each line as etc/rc has it, except that at_wini
// runs without -mirror (tests run the JIT image, which RS cannot mirror). Programs run as
// `bulkhead-host run` runs them for a user, with their stdio on pipes; Run feeds stdin bytes and
// returns stdout as bytes. The run directory holds the disk image (disk0.img).
using System.Diagnostics;
using System.Text;
using Bulkhead.Tests.Harness;

namespace Bulkhead.System.Tests;

public sealed class FileInstance : IDisposable
{
    private static readonly string[] Storage = ["image:at_wini ", "image:mfs ", "image:memory ", "image:vfs "];
    public HostInstance Host { get; } = new();
    public string DiskImage => Path.Combine(Host.RunDir, "disk0.img");

    public FileInstance()
    {
        var lines = File.ReadAllLines(Path.Combine(TestSystem.RepoRoot(), "etc", "rc"))
            .Where(l => l.StartsWith("service up ", StringComparison.Ordinal) && Storage.Any(s => l.Contains(s, StringComparison.Ordinal)))
            .Select(l => l.Replace(" -mirror true", "", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, lines.Count);
        string conf = Host.ConfigVariant(("args \"$ROOT/etc/rc\";", $"args \"{Path.Combine(Host.RunDir, "rc")}\";"));
        File.WriteAllLines(Path.Combine(Host.RunDir, "rc"), lines);
        Host.Ok("boot", "--detach", "--config", conf);
        TestSystem.WaitUntil(() => Host.Run("log").Output.Contains("vfs: mounted mfs_root", StringComparison.Ordinal) &&
                                   Host.TryProcesses() is var ps && new[] { "mfs_1", "mfs_2", "memory" }.All(ps.ContainsKey),
                             "etc/rc to start the storage stack and VFS to mount the root", 60_000);
    }

    /// <summary>`bulkhead-host run ARGS` with <paramref name="stdin"/> on its stdin: status, stdout, stderr.</summary>
    public (int Status, byte[] Stdout, string Stderr) RunBytes(byte[]? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo(HostTool.Path) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "--root", TestSystem.RepoRoot(), "--run", Host.RunDir, "run" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var feed = Task.Run(() =>
        {
            try
            {
                if (stdin is not null) p.StandardInput.BaseStream.Write(stdin);
                p.StandardInput.Close();
            }
            catch (IOException) { }
        });
        var err = p.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(output);
        Assert.True(p.WaitForExit(300_000), $"run {string.Join(' ', args)} did not finish");
        feed.Wait(10_000);
        return (p.ExitCode, output.ToArray(), err.Result);
    }

    public (int Status, string Stdout, string Stderr) Run(params string[] args)
    {
        var (status, stdout, stderr) = RunBytes(null, args);
        return (status, Encoding.UTF8.GetString(stdout), stderr);
    }

    /// <summary>Runs a program that must succeed; its stdout.</summary>
    public string Ok(params string[] args)
    {
        var (status, stdout, stderr) = Run(args);
        Assert.True(status == 0, $"run {string.Join(' ', args)} exited {status}: {stderr}\n{Host.LogTail(20)}");
        return stdout;
    }

    public void Dispose() => Host.Dispose();
}
