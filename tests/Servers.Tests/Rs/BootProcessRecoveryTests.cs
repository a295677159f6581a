// RS is the parent of every server and driver but PM and itself (thesis §2.2, §4.3.2; docs/rs.md,
// "Boot processes"): on a booted instance, each boot process marked `restart;` in boot.conf —
// DS, the PCI-bus and IOMMU drivers, echo, init — is killed with SIGKILL and then stopped with
// SIGSTOP, and must come back each time under the same endpoint with the cause on record
// (terminated, no-heartbeat), while the network drivers that depend on the bus drivers and on
// DS go on untouched, and a driver restarted afterwards still gets its device.
using System.Globalization;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Host;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class BootProcessRecoveryTests : IDisposable
{
    private const int SigKill = 9, SigStop = 19;
    private static readonly string[] Adopted = ["pci", "iommu", "echo", "init", "ds"];
    private readonly HostInstance _host = new();

    public void Dispose() => _host.Dispose();

    private Dictionary<string, string> Row(string name) =>
        _host.TryProcesses().TryGetValue(name, out var row) ? row : [];

    private Dictionary<string, string> WaitRow(string name, Func<Dictionary<string, string>, bool> ok, string what)
    {
        Dictionary<string, string> row = [];
        var until = DateTime.UtcNow.AddSeconds(45);
        while (!ok(row = Row(name)))
        {
            Assert.True(DateTime.UtcNow < until, $"timed out waiting for {name}: {what}; the system log ends:\n{_host.LogTail()}");
            Thread.Sleep(100);
        }
        return row;
    }

    private static bool Running(Dictionary<string, string> r) => r.ContainsValue("running");

    [Fact]
    public void BootProcesses_AreAdoptedByRs_AndComeBackFromKillAndStop_WithTheirEndpoints_WhileTheDriversGoOn()
    {
        // Heartbeats every second so that a stopped process is found within two.
        string conf = _host.ConfigVariant(("args \"$ROOT/etc/drivers.conf\";", "args \"$ROOT/etc/drivers.conf\" default_period_ms=1000;"));
        _host.Ok("boot", "--detach", "--config", conf);
        foreach (var eth in new[] { "eth0", "eth1" }) WaitRow(eth, Running, "running (etc/rc)");
        var before = _host.Processes();
        foreach (var name in Adopted)
        {
            Assert.True(before.ContainsKey(name) && Running(before[name]), $"{name} is not a running service:\n{_host.Ok("ps")}");
            Assert.Equal("0", before[name]["RESTARTS"]);
        }
        Assert.False(before["pm"].ContainsKey("RESTARTS"), "PM is not RS's to restart");
        Assert.False(before["rs"].ContainsKey("RESTARTS"), "RS is not its own to restart");

        foreach (var (signal, cause) in new[] { (SigKill, "terminated"), (SigStop, "no-heartbeat") })
        {
            foreach (var name in Adopted)
            {
                var row = Row(name);
                string pid = row["PID"];
                int restarts = int.Parse(row["RESTARTS"], CultureInfo.InvariantCulture);
                Assert.Equal(0, Native.kill(int.Parse(pid, CultureInfo.InvariantCulture), signal));
                var after = WaitRow(name, r => r.GetValueOrDefault("PID") is { } p && p != pid && p != "-" && Running(r)
                                               && int.Parse(r.GetValueOrDefault("RESTARTS", "0"), CultureInfo.InvariantCulture) > restarts,
                                    $"restarted after signal {signal}");
                Assert.Equal(cause, after["REASON"]);
                Assert.Equal(before[name]["ENDPOINT"], after["ENDPOINT"]);
            }
        }

        // Nothing that depends on them was restarted: the drivers kept their devices and DMA.
        foreach (var eth in new[] { "eth0", "eth1" })
        {
            var row = Row(eth);
            Assert.Equal((before[eth]["ENDPOINT"], before[eth]["PID"], "0"), (row["ENDPOINT"], row["PID"], row["RESTARTS"]));
        }
        string log = _host.Ok("log");
        Assert.Contains("init: init restarted (instance ", log);
        Assert.Single(log.Split('\n'), l => l.Contains("etc/rc: done", StringComparison.Ordinal));
        string busLines = string.Join('\n', log.Split('\n').Where(l => l.Contains("pci", StringComparison.Ordinal) || l.Contains("iommu", StringComparison.Ordinal)));
        Assert.True(log.Contains("pci: 1 device owner(s) restored from DS", StringComparison.Ordinal), busLines);
        Assert.True(log.Contains("iommu: DMA domains from DS: 1 kept, 0 reset (owner gone)", StringComparison.Ordinal), busLines);

        // The RTL8139's driver restarted now gets its device from the new bus drivers, and the
        // new DS (which RS refilled) knows its label.
        _host.Ok("service", "restart", "eth1");
        var eth1 = WaitRow("eth1", r => Running(r) && r.GetValueOrDefault("RESTARTS") == "1", "restarted");
        TestSystem.WaitUntil(() => _host.Ok("log").Split('\n').Count(l => l.Contains("eth1: rtl8139: 00:03.0 io 0xc000 irq 11", StringComparison.Ordinal)) == 2,
                             "the new rtl8139 instance initialized its device");
        Assert.NotEqual(before["eth1"]["ENDPOINT"], eth1["ENDPOINT"]);
        // The JIT image that tests run cannot be mirrored, so etc/rc's `c0d0 -mirror true` is
        // refused here and the root file server says once that its disk is missing; that is the
        // storage stack's own business (tests/System.Tests/FileInstance.cs runs it without -mirror).
        string problems = string.Join('\n', _host.Ok("log").Split('\n').Where(l => l.Contains("cannot", StringComparison.Ordinal)
                                                                          && !l.Contains("mfs: mount of c0d0 0: cannot open the device", StringComparison.Ordinal)));
        Assert.True(problems.Length == 0, problems);
    }
}
