// Issue 9: a `service up` that finds the kernel's process table full is told so — not that
// something is wrong with the binary (SPAWN's EAGAIN), and the services already up go on.
using Bulkhead.Tests.Harness;

namespace Bulkhead.System.Tests;

public sealed class ProcessTableFullTests : IDisposable
{
    private readonly HostInstance _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public void ServiceUp_WithTheProcessTableFull_NamesTheFullTable()
    {
        // 29 slots: the boot processes, etc/rc's two network drivers, INET, daytimed, at_wini,
        // the three file servers, the memory driver and VFS leave room for one more service and
        // the `service` helper process.
        string conf = _host.ConfigVariant(("procs 256;", "procs 29;"));
        _host.Ok("boot", "--detach", "--config", conf);
        TestSystem.WaitUntil(() => _host.Processes().TryGetValue("eth1", out var r) && r.ContainsValue("running"), "eth1 running");
        string last = "";
        for (int i = 1; i <= 4 && !last.Contains("EAGAIN", StringComparison.Ordinal); i++)
        {
            var (status, output) = _host.Run("service", "up", "image:testdrv", "-label", $"t{i}", "-policy", "testdrv");
            last = output;
            if (status == 0) Assert.Contains($"t{i} is up", output);
        }
        Assert.Contains("the kernel's process table is full (no free slot; boot.conf's 'procs' sets its size) (EAGAIN)", last);
        Assert.True(_host.Processes()["eth1"].ContainsValue("running"));
    }
}
