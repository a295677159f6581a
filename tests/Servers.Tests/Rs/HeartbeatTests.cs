// Periodic status monitoring (thesis §4.1.2, Fig. 4.1 "request heartbeat"): a driver stuck in
// an infinite loop or blocked in IPC misses its heartbeats and is killed (reason
// "no-heartbeat") and restarted; a healthy driver answering its heartbeats stays up.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Drivers;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class HeartbeatTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(TestDriverCall.InfiniteLoop)]
    [InlineData(TestDriverCall.BlockInIpc)]
    public void Stuck_IsKilledForNoHeartbeat_AndRestarted(int mode)
    {
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv", "period=300");
        var stuck = rs.Client.AskAsync($"td {ep} fail {mode}");
        var row = rs.WaitRestarts("testdrv", 1);
        Assert.Equal("no-heartbeat", row[4]);
        int ep2 = RsKit.Ep(row);
        Assert.NotEqual(ep, ep2);
        Assert.DoesNotContain("r OK OK", Puppet.Await(stuck)); // the request died with the instance
        Assert.StartsWith($"r OK OK 1 0 {ep2} well-formed", rs.Client.Ask($"td {ep2} read"));
        Assert.True(rs.Sys.Console.Has("rs: restart label=testdrv incarnation=2 cause=no-heartbeat"), rs.Console());
    }

    [Fact]
    public void Healthy_AnswersHeartbeats_StaysUp()
    {
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv", "period=300");
        RsKit.Holds(() => rs.Row("testdrv") is { Length: > 5 } r && r[1] == ep.ToString(System.Globalization.CultureInfo.InvariantCulture)
            && r[2] == "running" && r[3] == "0" && r[5] == "1", 6 * 300, "testdrv stays up through six heartbeat periods");
        Assert.StartsWith($"r OK OK 1 0 {ep} well-formed", rs.Client.Ask($"td {ep} read"));
    }

    /// <summary>Issue 9: a driver started without -period gets RS's default period (Fig. 2.4:
    /// 5 s; here default_period_ms=400), so a hung one is found; `-period 0` opts out.</summary>
    [Fact]
    public void WithoutPeriod_TheDefaultPeriodApplies_AndPeriodZeroMeansNone()
    {
        using var rs = new RsSystem(output, "default_period_ms=400");
        int ep = rs.Up("testdrv");
        var stuck = rs.Client.AskAsync($"td {ep} fail {TestDriverCall.BlockInIpc}");
        Assert.Equal("no-heartbeat", rs.WaitRestarts("testdrv", 1)[4]);
        Puppet.Await(stuck);

        int quiet = rs.Up("testdrv2", "label=testdrv2;period=0");
        var blocked = rs.Client.AskAsync($"td {quiet} fail {TestDriverCall.BlockInIpc}");
        RsKit.Holds(() => rs.Row("testdrv2") is { Length: > 5 } r && r[2] == "running" && r[3] == "0", 6 * 400,
                    "testdrv2 (no heartbeats) is left alone although it does not answer");
        Assert.Equal(0, rs.Sys.Kernel.Kill(quiet, 9));
        Puppet.Await(blocked);
    }

    /// <summary>Issue 9: time during which RS itself did not run is no driver's fault. RS is
    /// stopped for ten heartbeat periods; a healthy driver is not killed when RS continues, and
    /// a driver killed meanwhile is recorded as terminated, not as silent.</summary>
    [Fact]
    public void RsStopped_NoDriverIsBlamed_AndAnExitMeanwhileKeepsItsCause()
    {
        using var rs = new RsSystem(output);
        int healthy = rs.Up("testdrv", "period=300");
        int victim = rs.Up("testdrv2", "label=testdrv2;period=300");
        int rsPid = rs.Sys.Find(Bulkhead.Lib.Ipc.Endpoint.Rs)!.Value.HostPid;
        Assert.Equal(0, Bulkhead.Lib.Host.Native.kill(rsPid, 19)); // SIGSTOP
        try
        {
            Thread.Sleep(3000);
            Assert.Equal(0, rs.Sys.Kernel.Kill(victim, 9));
            Thread.Sleep(300);
        }
        finally
        {
            Assert.Equal(0, Bulkhead.Lib.Host.Native.kill(rsPid, 18)); // SIGCONT
        }
        Assert.Equal("terminated", rs.WaitRestarts("testdrv2", 1)[4]);
        RsKit.Holds(() => rs.Row("testdrv") is { Length: > 5 } r && r[1] == healthy.ToString(System.Globalization.CultureInfo.InvariantCulture)
            && r[2] == "running" && r[3] == "0", 6 * 300, "testdrv stays up after RS continues");
        Assert.True(rs.Sys.Console.Has("rs: RS did not run for"), rs.Console());
    }
}
