// Restart policy (docs/reference.md "MINIX RS numbers", RsOptions): binary exponential
// backoff between consecutive failures (RsSystem: base 100 ms, cap 400 ms), reset after a
// healthy period (2 s); too many failures within the window mark the service failed until
// `service refresh`; a service that dies during initialization or never finishes it is
// restarted with backoff and eventually marked failed.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Drivers;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class BackoffTests(ITestOutputHelper output)
{
    private readonly ITestOutputHelper _output = output;

    /// <summary>Makes the running instance exit and waits for the restart that follows.</summary>
    private static string[] CrashAndWait(RsSystem rs, string label, int restartsAfter)
    {
        int ep = RsKit.Ep(rs.Row(label));
        var answer = rs.Client.AskAsync($"td {ep} fail {TestDriverCall.Exit}");
        var row = rs.WaitRestarts(label, restartsAfter);
        Puppet.Await(answer);
        return row;
    }

    [Fact]
    public void ConsecutiveFailures_BackOffExponentially_ResetAfterHealthyPeriod()
    {
        using var rs = new RsSystem(_output, "max_failures=20");
        rs.Up("testdrv");
        for (int i = 1; i <= 5; i++)
        {
            var row = CrashAndWait(rs, "testdrv", i);
            Assert.Equal("exit", row[4]);
        }
        Assert.Equal([0L, 100, 200, 400, 400], rs.Backoffs("testdrv"));

        // Healthy for healthy_ms (2 s): the next failure restarts at once again.
        var since = DateTime.UtcNow;
        TestSystem.WaitUntil(() => DateTime.UtcNow - since > TimeSpan.FromMilliseconds(2300), "a healthy period");
        Assert.Equal("running", rs.Row("testdrv")[2]);
        CrashAndWait(rs, "testdrv", 6);
        CrashAndWait(rs, "testdrv", 7);
        Assert.Equal([0L, 100, 200, 400, 400, 0, 100], rs.Backoffs("testdrv"));
    }

    [Fact]
    public void CrashLoop_MarkedFailed_OthersServed_RefreshBringsItBack()
    {
        using var rs = new RsSystem(_output, "max_failures=3", "failure_window_ms=30000");
        rs.Up("testdrv");
        int other = rs.Up("testdrv2", "label=testdrv2");
        CrashAndWait(rs, "testdrv", 1);
        CrashAndWait(rs, "testdrv", 2);
        int ep = RsKit.Ep(rs.Row("testdrv"));
        Puppet.Await(rs.Client.AskAsync($"td {ep} fail {TestDriverCall.Exit}"));
        rs.WaitState("testdrv", "failed");
        var row = rs.Row("testdrv");
        Assert.Equal("-", row[1]);
        Assert.Equal(("failed", "exit"), (row[2], row[4])); // REASON: the cause, not the state
        Assert.True(rs.Sys.Console.Has("rs: testdrv marked failed: 3 failures within 30000 ms (last: exit)"), rs.Console());
        // It stays down (no restart is scheduled) while RS keeps serving everyone else.
        RsKit.Holds(() => rs.Row("testdrv")[2] == "failed", 500, "testdrv stays failed");
        Assert.EndsWith("well-formed", rs.Client.Ask($"td {other} read"));
        Assert.StartsWith("r OK OK", rs.Manager.Ask("rs restart testdrv2"));
        rs.WaitRestarts("testdrv2", 1);

        Assert.StartsWith("r OK OK", rs.Manager.Ask("rs refresh testdrv"));
        row = rs.WaitRestarts("testdrv", 3);
        Assert.Equal("restart", row[4]);
        Assert.EndsWith("well-formed", rs.Client.Ask($"td {RsKit.Ep(row)} read"));
    }

    [Fact]
    public void DiesInInit_RestartedWithBackoff_ThenFailed()
    {
        using var rs = new RsSystem(_output, "max_failures=4");
        var a = rs.Manager.Ask($"rs up label=testdrv;binary={RsSystem.Image};args=testdrv die-in-init");
        Assert.StartsWith("r OK OK", a);
        rs.WaitState("testdrv", "failed");
        var row = rs.Row("testdrv");
        Assert.Equal("0", row[3]); // no instance ever finished initialization
        Assert.Equal("4", row[5]);  // but four were started
        var lines = rs.Sys.Console.Lines;
        Assert.Equal(4, lines.Count(l => l.Contains("rs: testdrv failed: exit status 5", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains("rs: testdrv marked failed: 4 failures", StringComparison.Ordinal));
        Assert.False(rs.Sys.Console.Has("rs: restart label=testdrv"));
    }

    [Fact]
    public void NeverFinishesInit_KilledAtDeadline_AsInitTimeout()
    {
        using var rs = new RsSystem(_output, "init_timeout_ms=700", "max_failures=2");
        var a = rs.Manager.Ask($"rs up label=testdrv;binary={RsSystem.Image};args=testdrv hang-in-init");
        Assert.StartsWith("r OK OK", a);
        int first = (int)Puppet.LongField(a, 3);
        // The row as first seen with the second instance: asking again could come after that
        // one's own deadline too, when the service is already marked failed.
        string[] row = [];
        TestSystem.WaitUntil(() => (row = rs.Row("testdrv")) is { Length: > 5 } && row[5] == "2", "second instance started");
        Assert.Equal("init-timeout", row[4]);
        Assert.True(rs.Sys.Find(first) is null || rs.Sys.Find(first)!.Value.State == Bulkhead.Lib.Sys.ProcState.Zombie, "first instance gone");
        rs.WaitState("testdrv", "failed");
        Assert.True(rs.Sys.Console.Has("rs: testdrv failed: init-timeout (terminated by SIGKILL)"), rs.Console());
        Assert.True(rs.Sys.Console.Has("rs: testdrv marked failed: 2 failures within"), rs.Console());
    }
}
