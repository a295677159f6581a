// After a restart (thesis §4.2.2): RS republishes label → new endpoint in DS, the driver
// announces itself again (drv.chr.<label>) and RS publishes the restart event
// (rs.restart.<label>), so dependents subscribed to those keys are notified. Here the
// dependent is a second test driver started with "watch" (DS names subscribers by their RS
// label, so a bare puppet cannot subscribe); it takes its notifications with td-check.
// A dynamic update (`service update`) and any restart preserve the state the driver keeps in
// DS (a private entry, owned by label).
using System.Globalization;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Drivers;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class ReintegrationTests(ITestOutputHelper output)
{
    private static string S(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Takes the watcher's pending DS changes: (key, owner) in order.</summary>
    private static List<(string Key, int Owner)> Drain(RsSystem rs, int watcher)
    {
        var got = new List<(string, int)>();
        while (true)
        {
            var a = rs.Client.Ask($"td-check {watcher}");
            Assert.StartsWith("r OK ", a);
            if (Puppet.Field(a, 2) != "OK")
            {
                Assert.Equal("ENOENT", Puppet.Field(a, 2));
                return got;
            }
            got.Add((Puppet.Field(a, 3), (int)Puppet.LongField(a, 5)));
        }
    }

    [Fact]
    public void Restart_NotifiesSubscribers_AndRepublishesLabel()
    {
        using var rs = new RsSystem(output);
        int watcher = rs.Up("testdrv", "args=testdrv watch");
        int drv = rs.Up("testdrv2", "label=testdrv2");
        Assert.Equal($"r OK {drv}", rs.Client.Ask("ds get label testdrv2"));
        TestSystem.WaitUntil(() => Drain(rs, watcher).Any(c => c.Key == "drv.chr.testdrv2"), "the watcher saw testdrv2 come up");
        Drain(rs, watcher);

        Assert.Equal(0, rs.Sys.Kernel.Kill(drv, 9));
        int fresh = RsKit.Ep(rs.WaitRestarts("testdrv2", 1));
        Assert.NotEqual(drv, fresh);
        Assert.Equal($"r OK {fresh}", rs.Client.Ask("ds get label testdrv2"));
        Assert.Equal($"r OK testdrv2", rs.Client.Ask($"ds label-of {fresh}"));

        var seen = new List<(string Key, int Owner)>();
        TestSystem.WaitUntil(() =>
        {
            seen.AddRange(Drain(rs, watcher));
            return seen.Any(c => c.Key == "drv.chr.testdrv2") && seen.Any(c => c.Key == "rs.restart.testdrv2");
        }, "the watcher notified of the restart");
        Assert.Contains(("drv.chr.testdrv2", fresh), seen);
        Assert.Contains(("rs.restart.testdrv2", (int)Bulkhead.Lib.Ipc.Endpoint.Rs), seen);
        var ev = rs.Client.Ask("ds get mem rs.restart.testdrv2");
        Assert.StartsWith("r OK ", ev);
    }

    [Fact]
    public void RestartEvents_AreASequence_ALateReaderSeesEveryRestart_Bounded()
    {
        using var rs = new RsSystem(output, "backoff_base_ms=1", "max_failures=100");
        int ep = rs.Up("testdrv2", "label=testdrv2;nobackoff=1");
        const int Kills = Bulkhead.Servers.Rs.Service.MaxRestartEvents + 4;
        for (int i = 1; i <= Kills; i++)
        {
            Assert.Equal(0, rs.Sys.Kernel.Kill(ep, 9));
            ep = RsKit.Ep(rs.WaitRestarts("testdrv2", i));
        }
        // Read only now: the last MaxRestartEvents restarts, oldest first, each with its cause.
        var a = rs.Client.Ask("ds lines rs.restart.testdrv2");
        Assert.StartsWith($"r OK {Bulkhead.Servers.Rs.Service.MaxRestartEvents} ", a);
        var events = a[(a.IndexOf(' ', 5) + 1)..].Split('|');
        for (int i = 0; i < events.Length; i++)
        {
            int incarnation = Kills - events.Length + 2 + i;
            Assert.StartsWith($"label=testdrv2 incarnation={incarnation} cause=terminated ", events[i]);
        }
        Assert.EndsWith($" endpoint={ep}", events[^1]);
    }

    [Fact]
    public void Update_RestartsWithNewBinary_AndPreservesState()
    {
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv");
        Assert.StartsWith("r OK OK", rs.Client.Ask($"td {ep} write 4242"));
        var a = rs.Manager.Ask($"rs update label=testdrv;binary={RsSystem.Image};args=testdrv");
        Assert.StartsWith("r OK OK", a);
        var row = rs.WaitRestarts("testdrv", 1);
        Assert.Equal("update", row[4]);
        int ep2 = RsKit.Ep(row);
        Assert.NotEqual(ep, ep2);
        Assert.StartsWith($"r OK OK 1 4242 {ep2} well-formed", rs.Client.Ask($"td {ep2} read"));
        Assert.True(rs.Sys.Console.Has("rs: restart label=testdrv incarnation=2 cause=update backoff_ms=0"), rs.Console());

        // Any restart keeps it too.
        Assert.StartsWith("r OK OK", rs.Client.Ask($"td {ep2} write 77"));
        var crash = rs.Client.AskAsync($"td {ep2} fail {TestDriverCall.Panic}");
        row = rs.WaitRestarts("testdrv", 2);
        Puppet.Await(crash);
        Assert.Equal("panic", row[4]);
        Assert.StartsWith($"r OK OK 1 77 {RsKit.Ep(row)} well-formed", rs.Client.Ask($"td {RsKit.Ep(row)} read"));
    }

    /// <summary>Issue 9, thesis §4.1.3: before a dynamic update RS asks the service to save its
    /// state (SaveState); a driver that keeps its state only in memory writes it to DS then, and
    /// the new binary starts with it. A crash, which asks nothing, loses what was not saved.</summary>
    [Fact]
    public void Update_AsksTheServiceToSaveItsState_AMemoryOnlyDriverKeepsIt()
    {
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv", "args=testdrv memory-state");
        Assert.StartsWith("r OK OK", rs.Client.Ask($"td {ep} write 4242"));
        Assert.StartsWith("r OK OK", rs.Manager.Ask($"rs update label=testdrv;binary={RsSystem.Image};args=testdrv memory-state"));
        var row = rs.WaitRestarts("testdrv", 1);
        Assert.Equal("update", row[4]);
        int ep2 = RsKit.Ep(row);
        Assert.StartsWith($"r OK OK 1 4242 {ep2} well-formed", rs.Client.Ask($"td {ep2} read"));
        Assert.False(rs.Sys.Console.Has("did not save its state"), rs.Console());

        Assert.StartsWith("r OK OK", rs.Client.Ask($"td {ep2} write 77"));
        Assert.Equal(0, rs.Sys.Kernel.Kill(ep2, 9));
        row = rs.WaitRestarts("testdrv", 2);
        Assert.StartsWith($"r OK OK 1 4242 {RsKit.Ep(row)} well-formed", rs.Client.Ask($"td {RsKit.Ep(row)} read"));
    }

    [Fact]
    public void Down_StopsIt_RemovesRowAndLabel()
    {
        using var rs = new RsSystem(output);
        int ep = rs.Up("testdrv");
        Assert.Equal($"r OK {ep}", rs.Client.Ask("ds get label testdrv"));
        Assert.StartsWith("r OK OK", rs.Manager.Ask("rs down testdrv"));
        TestSystem.WaitUntil(() => rs.Row("testdrv").Length == 0, "testdrv gone from the table");
        Assert.StartsWith("r ESRCH", rs.Client.Ask("ds get label testdrv"));
        TestSystem.WaitUntil(() => rs.Sys.Find(ep) is not { } p || p.State == Bulkhead.Lib.Sys.ProcState.Zombie, "the instance gone");
        Assert.True(rs.Sys.Console.Has("rs: down testdrv"), rs.Console());
        // The label can be used again.
        int again = rs.Up("testdrv");
        Assert.NotEqual(ep, again);
        Assert.Equal("0", rs.Row("testdrv")[3]);
    }
}
