// init's start-up script (src/Commands/Init/RcScript.cs): the shipped etc/rc parses into valid
// `service up` command lines for the machine's drivers, and the word splitter keeps quoted
// arguments whole and reports what it cannot read; init (with boot.conf's privileges, under RS)
// runs every line of a script, reports each bad one with file and line, and goes on. Booted
// instances run the shipped etc/rc (HostileStatsTests and InstanceTests wait for its drivers).
using Bulkhead.Commands.Service;
using Bulkhead.Kernel;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Commands.Tests.Init;

public sealed class RcScriptTests
{
    private static List<string> Split(string line)
    {
        Assert.True(Bulkhead.Commands.Init.RcScript.TrySplit(line, out var words, out string? error), error);
        return words;
    }

    [Fact]
    public void Split_KeepsQuotedWordsWhole_AndStopsAtComments()
    {
        Assert.Equal(["service", "up", "image:dp8390", "-args", "io=0x300 irq=9"], Split("service up image:dp8390 -args \"io=0x300 irq=9\"  # eth0"));
        Assert.Empty(Split("   # only a comment"));
        Assert.Empty(Split(""));
        Assert.Equal(["a#b"], Split("\"a#b\""));
        Assert.Equal(["x", ""], Split("x \"\""));
        Assert.False(Bulkhead.Commands.Init.RcScript.TrySplit("service up \"open", out _, out string? error));
        Assert.Equal("unterminated '\"'", error);
    }

    [Fact]
    public void ShippedRc_StartsTheMachinesDriversUnderTheirPolicies()
    {
        string rc = Path.Combine(TestSystem.RepoRoot(), "etc", "rc");
        var specs = new List<Bulkhead.Lib.Rs.ServiceSpec>();
        foreach (var line in File.ReadAllLines(rc))
        {
            var words = Split(line);
            if (words.Count == 0) continue;
            Assert.Equal("service", words[0]);
            // As init runs it (RcScript): relative files are the rc file's neighbours.
            var cl = ServiceCommandLine.Parse(words.Skip(1).ToList(), imageDirectory: AppContext.BaseDirectory, workingDirectory: Path.GetDirectoryName(rc));
            Assert.True(cl.Ok, $"{line}: {cl.Error}");
            Assert.Equal(ServiceVerb.Up, cl.Verb);
            specs.Add(cl.Spec!);
        }
        Assert.Equal(["eth0", "eth1", "inet", "daytimed", "c0d0", "mfs_root", "mfs_1", "mfs_2", "memory", "filter", "vfs"], specs.Select(s => s.Label));
        Assert.Equal(["dp8390", "rtl8139", "inet", "daytimed", "at_wini", "mfs", "mfs", "mfs", "memory", "filter", "vfs"], specs.Select(s => s.Policy));
        Assert.True(specs[4].Mirror, "a disk driver is restarted from its in-memory copy");
        Assert.Equal("memory ram0=8M ram1=2M ram2=2M", specs[8].Args); // mkfs and mount's RAM disk, the filter's two
        // The filter (docs/filter.md) on ram1 (minor 8) mirrored on ram2 (minor 9), with checksums.
        Assert.Equal("filter primary=memory:8 backup=memory:9 checksum=64 complaints=0", specs[9].Args);
        Assert.Equal("vfs root=mfs_root dev=c0d0:0", specs[10].Args);
        Assert.Equal("dp8390 io=0x300 irq=9", specs[0].Args);
        Assert.StartsWith("inet config=inet.conf:", specs[2].Args, StringComparison.Ordinal); // etc/inet.conf, carried in the argument
        // INET's recovery script restarts daytimed after it (thesis §4.5); daytimed runs as a service.
        Assert.Equal(Path.Combine(Path.GetDirectoryName(rc)!, "rs", "inet.sh") + " daytimed", specs[2].Recovery);
        Assert.Equal("daytimed -s", specs[3].Args);
        Assert.Equal(Bulkhead.Lib.Rs.ServiceSpec.NoHeartbeats, specs[3].PeriodMs);
    }
}

public sealed class RcScriptRunTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly RsSystem _rs = new(output);
    private readonly string _rc = Path.Combine(Path.GetTempPath(), $"bulkhead-rc-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public void Dispose()
    {
        _rs.Dispose();
        File.Delete(_rc);
    }

    [Fact]
    public void Init_RunsEveryLine_ReportsEachBadOneWithFileAndLine_AndGoesOn()
    {
        File.WriteAllLines(_rc,
        [
            "# drivers",
            "reboot now",                                                   // 2: not a service command
            "service up",                                                   // 3: does not parse
            "service up \"unterminated",                                    // 4: cannot be split
            $"service up {RsSystem.Image} -label nopolicy -args testdrv", // 5: RS refuses (no policy)
            $"service up {RsSystem.Image} -label testdrv -args testdrv", // 6: fine
        ]);
        var init = Bulkhead.Kernel.Boot.BootConfig.Load(Path.Combine(TestSystem.RepoRoot(), "etc", "boot.conf")).Find("init")!;
        int ep = _rs.Sys.Kernel.Spawn(new ProcessSpec { Name = "init", Path = RsSystem.Image, Args = ["init", _rc], Privileges = init.Privileges, Files = init.Files });
        Assert.True(ep >= 0, $"spawn: {ep}");
        TestSystem.WaitUntil(() => _rs.Sys.Console.Has($"{_rc}: done"), "init to finish its script");
        var lines = _rs.Sys.Console.Lines;
        Assert.Contains(lines, l => l.Contains($"{_rc}:2: unknown command 'reboot'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{_rc}:3: service: 'up' needs a binary", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{_rc}:4: unterminated '\"'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{_rc}:5: service: nopolicy:", StringComparison.Ordinal) && l.Contains("(ESRCH)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{_rc}:6: service up: testdrv is up", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{_rc}: done, 4 command(s) failed", StringComparison.Ordinal));
        _rs.WaitState("testdrv", "running");
    }
}
