// Periodic status monitoring (thesis §4.1.2, Fig. 4.1 "request heartbeat"): a driver stuck in
// an infinite loop or blocked in IPC misses its heartbeats and is killed (reason
// "no-heartbeat") and restarted; a healthy driver answering its heartbeats stays up.
using Bulkhead.Kernel.Tests.Harness;
using Bulkhead.Lib.Drivers;
using Xunit.Abstractions;

namespace Bulkhead.Kernel.Tests.Rs;

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
}
