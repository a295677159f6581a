// Process exits from outside (Fig. 4.1 "killed by signal") and component complaints
// (§4.1.3): a complaint is honoured only from a service whose policy names the target in its
// `driver` key (testdrv may control testdrv2; a puppet or testdrv2 may not).
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Drivers;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class FaultTests(ITestOutputHelper output)
{
    [Fact]
    public void KilledFromOutside_RestartedAsTerminated()
    {
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv");
        Assert.Equal(0, rs.Sys.Kernel.Kill(ep, 9));
        var row = rs.WaitRestarts("testdrv", 1);
        Assert.Equal("terminated", row[4]);
        int ep2 = RsKit.Ep(row);
        Assert.NotEqual(ep, ep2);
        Assert.StartsWith($"r OK OK 1 0 {ep2} well-formed", rs.Client.Ask($"td {ep2} read"));
        Assert.True(rs.Sys.Console.Has("testdrv failed: terminated by SIGKILL"), rs.Console());
    }

    [Fact]
    public void Complaint_FromUnauthorized_IsRefused()
    {
        using var rs = new RsSystem(output);
        int drv = rs.Up("testdrv");
        int drv2 = rs.Up("testdrv2", "label=testdrv2");
        // Not a service at all.
        Assert.StartsWith("r OK EPERM", rs.Client.Ask($"rs complain {drv2}"));
        // A service whose policy does not name the target (testdrv2 has no `driver` key).
        Assert.Equal("r OK EPERM", rs.Client.Ask($"td-complain {drv2} {drv}"));
        // No such service.
        Assert.Equal("r OK ESRCH", rs.Client.Ask($"td-complain {drv} 12345"));
        Assert.Equal("0", rs.Row("testdrv")[3]);
        Assert.Equal("0", rs.Row("testdrv2")[3]);
        Assert.Equal(drv2, RsKit.Ep(rs.Row("testdrv2")));
    }

    /// <summary>Issue 9, Fig. 2.6's `driver` key: testdrv's policy names testdrv2, so testdrv may
    /// have it restarted (RsCall.Restart, not only a complaint); testdrv2 may not return the favour,
    /// and no service may stop or start others.</summary>
    [Fact]
    public void DriverKey_LetsAServiceHaveTheDriversItNamesRestarted_AndNoOthers()
    {
        using var rs = new RsSystem(output);
        int drv = rs.Up("testdrv");
        int drv2 = rs.Up("testdrv2", "label=testdrv2");
        Assert.Equal("r OK OK", rs.Client.Ask($"td-restart {drv} {drv2}"));
        var row = rs.WaitRestarts("testdrv2", 1);
        Assert.Equal("restart", row[4]);
        Assert.NotEqual(drv2, RsKit.Ep(row));
        Assert.Equal("r OK EPERM", rs.Client.Ask($"td-restart {RsKit.Ep(row)} {drv}"));
        Assert.True(rs.Sys.Console.Has("restart of testdrv refused: testdrv2 may not control testdrv"), rs.Console());
        Assert.Equal("0", rs.Row("testdrv")[3]);
    }

    /// <summary>Issue 9: RS never reports a state it has not verified. With PM gone nobody
    /// reports exits: a driver killed then is shown lost (no endpoint), not running, and a new
    /// `service up` says that PM is not running instead of a bare EDEADSRCDST.</summary>
    [Fact]
    public void PmGone_ADriverThatDies_IsShownLost_AndStartsSayWhy()
    {
        using var rs = new RsSystem(output);
        int drv = rs.Up("testdrv");
        Assert.Equal(0, rs.Sys.Kernel.Kill(Bulkhead.Lib.Ipc.Endpoint.Pm, 9));
        TestSystem.WaitUntil(() => rs.Sys.Find(Bulkhead.Lib.Ipc.Endpoint.Pm) is null, "PM gone");
        Assert.Equal(0, rs.Sys.Kernel.Kill(drv, 9));
        rs.WaitState("testdrv", "lost");
        var row = rs.Row("testdrv");
        Assert.Equal(("-", "unreported-exit"), (row[1], row[4]));
        var a = rs.Manager.Ask($"rs up label=testdrv2;binary={RsSystem.Image};args=testdrv");
        Assert.Equal("EDEADSRCDST", Puppet.Field(a, 2));
        Assert.Contains("PM (endpoint 0), which starts every process, is not running", a);
    }

    [Fact]
    public void ProtocolViolation_ComplaintFromAuthorizedDriver_Restarts()
    {
        using var rs = new RsSystem(output);
        int drv = rs.Up("testdrv");
        int bad = rs.Up("testdrv2", "label=testdrv2");
        Assert.StartsWith("r OK OK", rs.Client.Ask($"td {bad} fail {TestDriverCall.ProtocolViolation}"));
        // The client sees malformed replies from testdrv2 and reports it to testdrv, whose
        // policy (`driver testdrv2`) lets it complain to RS.
        Assert.EndsWith("malformed", rs.Client.Ask($"td {bad} read"));
        Assert.Equal("r OK OK", rs.Client.Ask($"td-complain {drv} {bad}"));
        var row = rs.WaitRestarts("testdrv2", 1);
        Assert.Equal("complaint", row[4]);
        int fresh = RsKit.Ep(row);
        Assert.NotEqual(bad, fresh);
        Assert.EndsWith("well-formed", rs.Client.Ask($"td {fresh} read"));
        Assert.True(rs.Sys.Console.Has("rs: complaint from testdrv about testdrv2"), rs.Console());
        // The complainer itself is untouched.
        Assert.Equal(drv, RsKit.Ep(rs.Row("testdrv")));
        Assert.Equal("0", rs.Row("testdrv")[3]);
    }
}
