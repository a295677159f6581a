// CPU time (thesis §3.3.1): a driver spinning in a loop on the same CPU as everyone else is
// demoted and cannot starve the kernel or a well-behaved pair of processes.
using Bulkhead.Kernel.Tests.Harness;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Kernel.Tests.Isolation;

public sealed class SchedulingTests
{
    [Fact]
    public void Spinner_OnSameCpu_IsDemotedAndPairStillCompletes()
    {
        using var sys = new TestSystem(quantumNs: 50_000_000, cpuMask: 1);
        var spinner = sys.StartPuppet("spinner");
        Assert.Equal("r OK spinning", spinner.Ask("crash spin"));
        TestSystem.WaitUntil(() => sys.Find(spinner.Endpoint)?.Level >= Kernel.MaxLevel, "spinner demoted to the idle level");
        var server = sys.Start("server", "pingpong-server", TestSystem.Privileges(traps: Trap.MaskAll));
        var client = sys.Start("client", "pingpong-client", TestSystem.Privileges(traps: Trap.MaskUser, targets: [server.Endpoint]),
                               server.Endpoint.ToString(global::System.Globalization.CultureInfo.InvariantCulture), "2000");
        Assert.StartsWith("rtt ", Puppet.Await(client.ReadLineAsync(), 60_000));
        // Still demoted: it never stopped spinning.
        Assert.True(sys.Find(spinner.Endpoint)!.Value.Level > 0);
        Assert.True(sys.Find(server.Endpoint)!.Value.Level == 0, "the server blocks between requests and is never demoted");
    }
}
