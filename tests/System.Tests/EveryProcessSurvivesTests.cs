// Every process in `ps` other than the kernel, PM and RS survives `kill -9` and `kill -STOP` of
// itself (the developers' guide; thesis §2.1.2, §4.1.1): the default system — etc/boot.conf and
// etc/rc, network and storage stacks — booted as a user boots it, except that at_wini runs
// without -mirror (tests run the JIT image, which RS cannot mirror) and RS's default heartbeat
// period is 1 s instead of 5 (so that a stopped service is found in seconds, not tens). For each
// process, one after the other:
//   kill -9    its host process; `ps` must show it again under a new pid (and, for a service,
//              running), then the system must still work (a file read, a DS-backed `service
//              list`);
//   kill -STOP the new host process; a service RS sends heartbeats to must be replaced (new pid)
//              by RS on its own (missing heartbeats); one that has none (`-period 0`: daytimed,
//              which waits in INET) must leave the rest of the system working while it is
//              stopped, and work again after `kill -CONT`.
// Every stopped process is continued whatever happens (a process RS killed is gone anyway).
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Host;
using Bulkhead.Tests.Harness;
using Xunit.Abstractions;

namespace Bulkhead.System.Tests;

public sealed class EveryProcessSurvivesTests(ITestOutputHelper output) : IDisposable
{
    private const int SigKill = 9, SigStop = 19, SigCont = 18;
    private static readonly string[] Exempt = ["kernel", "pm", "rs"];
    private readonly HostInstance _host = new();
    private readonly List<int> _stopped = [];

    public void Dispose()
    {
        foreach (int pid in _stopped) Native.kill(pid, SigCont);
        _host.Dispose();
    }

    [Fact]
    public void KillAndStop_OfEachProcess_IsSurvived()
    {
        string rc = Path.Combine(_host.RunDir, "rc");
        string conf = _host.ConfigVariant(("args \"$ROOT/etc/rc\";", $"args \"{rc}\";"),
                                          ("args \"$ROOT/etc/drivers.conf\";", "args \"$ROOT/etc/drivers.conf default_period_ms=1000\";"));
        var rcLines = File.ReadAllLines(Path.Combine(TestSystem.RepoRoot(), "etc", "rc"));
        // Services etc/rc starts with `-period 0`: RS sends them no heartbeats.
        var silent = rcLines.Where(l => l.StartsWith("service up ", StringComparison.Ordinal) && l.Contains(" -period 0", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[Array.IndexOf(l.Split(' '), "-label") + 1]).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("daytimed", silent);
        File.WriteAllLines(rc, rcLines
            .Select(l => l.Replace(" -mirror true", "", StringComparison.Ordinal)
                          .Replace("-config inet.conf", $"-config {Path.Combine(TestSystem.RepoRoot(), "etc", "inet.conf")}", StringComparison.Ordinal)
                          .Replace("-recovery \"rs/", $"-recovery \"{Path.Combine(TestSystem.RepoRoot(), "etc", "rs")}/", StringComparison.Ordinal)));
        _host.Ok("boot", "--detach", "--config", conf);
        TestSystem.WaitUntil(() => _host.Run("log").Output.Contains("vfs: mounted mfs_root", StringComparison.Ordinal) &&
                                   _host.TryProcesses() is var ps && new[] { "daytimed", "mfs_2", "eth1" }.All(ps.ContainsKey),
                             "etc/rc to start everything", 90_000);
        Works("after boot");

        var names = _host.Processes().Keys.Where(n => !Exempt.Contains(n) && n != "service").Order(StringComparer.Ordinal).ToList();
        Assert.Contains("vfs", names);
        Assert.Contains("c0d0", names);
        Assert.Contains("inet", names);
        // BULKHEAD_SURVIVE=NAME,... runs only those processes, in that order (to chase one failure).
        if (Environment.GetEnvironmentVariable("BULKHEAD_SURVIVE") is { Length: > 0 } only)
            names = only.Split(',').Where(names.Contains).ToList();
        output.WriteLine($"processes: {string.Join(' ', names)}");
        foreach (string name in names)
        {
            var clock = Stopwatch.StartNew();
            int pid = Pid(name);
            Assert.Equal(0, Native.kill(pid, SigKill));
            int fresh = Replaced(name, pid, "kill -9");
            Works($"{name} killed");
            double killed = clock.Elapsed.TotalSeconds;

            bool heartbeats = _host.Processes()[name].ContainsKey("SVC_STATE") && !silent.Contains(name);
            Assert.Equal(0, Native.kill(fresh, SigStop));
            _stopped.Add(fresh);
            if (heartbeats)
            {
                Replaced(name, fresh, "kill -STOP");
            }
            else
            {
                Thread.Sleep(3000);
                Works($"{name} stopped");
                Assert.Equal(0, Native.kill(fresh, SigCont));
            }
            Works($"{name} stopped and replaced or continued");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: kill -9 survived in {killed:F1} s, kill -STOP {(heartbeats ? "replaced by RS" : "survived, continued")} in {clock.Elapsed.TotalSeconds - killed:F1} s"));
        }
        var after = _host.Processes();
        foreach (string name in names)
            Assert.True(after.ContainsKey(name), $"{name} is gone at the end:\n{_host.LogTail()}");
    }

    /// <summary>The system log without the lines of the test's own programs and `service` runs.</summary>
    private string Log() => string.Join('\n', _host.Run("log").Output.Split('\n')
        .Where(l => !l.Contains("kernel: cat (", StringComparison.Ordinal) && !l.Contains("denied cat (", StringComparison.Ordinal) &&
                    !l.Contains("kernel: service (endpoint", StringComparison.Ordinal)).TakeLast(150));

    private int Pid(string name) =>
        int.Parse(_host.Processes()[name]["PID"], NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>Waits for `ps` to show <paramref name="name"/> under a pid other than
    /// <paramref name="old"/> (running, for a service); the new pid.</summary>
    private int Replaced(string name, int old, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_host.TryProcesses().TryGetValue(name, out var row) &&
                int.TryParse(row["PID"], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid != old &&
                (!row.TryGetValue("SVC_STATE", out var state) || state == "running"))
                return pid;
            Assert.True(clock.ElapsedMilliseconds < 60_000, $"{name} is not back after {what}:\n{_host.Run("ps").Output}\n{Log()}");
            Thread.Sleep(100);
        }
    }

    /// <summary>The system still answers: a file read through VFS, MFS and at_wini, and RS's list.</summary>
    private void Works(string when)
    {
        string last = "";
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var (status, text) = _host.Run("run", "cat", "/etc/motd");
            if (status == 0 && text.Length > 0) break;
            last = text;
            Assert.True(clock.ElapsedMilliseconds < 60_000, $"`run cat /etc/motd` does not work ({when}): {last}\n{_host.Run("ps").Output}\n{Log()}");
            Thread.Sleep(200);
        }
        _host.Ok("service", "list");
    }
}
