// Isolation is complete before a service's first IPC (thesis §3.4, §2.2; docs/rs.md, "Starting
// a service"): RS starts every instance held, publishes its label in DS and only then releases
// it, so the test driver's one lookup of its own label (no retry) finds it; a DS that does not
// answer (SIGSTOP) delays a start by the hold time-out, not forever, and RS says why.
using System.Diagnostics;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Xunit.Abstractions;

namespace Bulkhead.Servers.Tests.Rs;

public sealed class HeldStartTests(ITestOutputHelper output)
{
    private const int SigStop = 19, SigCont = 18;

    private static int DsPid(RsSystem rs) => rs.Sys.Find(Endpoint.Ds)!.Value.HostPid;

    private static ProcState StateOf(RsSystem rs, int ep) => rs.Sys.Find(ep)?.State ?? ProcState.Free;

    /// <summary>Starts testdrv as <paramref name="label"/> without waiting for it to run; its endpoint.</summary>
    private static int UpNoWait(RsSystem rs, string label)
    {
        var a = rs.Manager.Ask($"rs up label={label};binary={RsSystem.Image};args=testdrv;policy=testdrv");
        Assert.True(Puppet.Field(a, 1) == "OK" && Puppet.Field(a, 2) == "OK", a);
        return (int)Puppet.LongField(a, 3);
    }

    [Fact]
    public void EveryStart_FindsItsLabelInDs_AtItsFirstLookup()
    {
        using var rs = new RsSystem(output);
        for (int i = 0; i < 6; i++)
        {
            string label = $"held{i}";
            int ep = rs.Up(label, "policy=testdrv");
            // The driver announced itself under the label it looked up once at start.
            Assert.Equal("r OK 1", rs.Client.Ask($"ds get u32 drv.chr.{label}"));
            Assert.Equal($"r OK {ep}", rs.Client.Ask($"ds get label {label}"));
        }
        Assert.False(rs.Sys.Console.Has("no label in DS"), rs.Console());
        Assert.False(rs.Sys.Console.Has("released after"), rs.Console());
        Assert.False(rs.Sys.Console.Has("illegal transition"), rs.Console());
    }

    [Fact]
    public void SlowDs_KeepsTheNewInstanceHeld_UntilDsHasItsLabel()
    {
        using var rs = new RsSystem(output);
        int ds = DsPid(rs);
        Assert.Equal(0, Native.kill(ds, SigStop));
        int ep;
        try
        {
            ep = UpNoWait(rs, "slowds");
            // DS cannot answer: the instance exists with its privileges but makes no IPC.
            RsKit.Holds(() => StateOf(rs, ep) == ProcState.Held, 800, "the instance is held while DS has not answered");
        }
        finally
        {
            Native.kill(ds, SigCont);
        }
        rs.WaitState("slowds", "running");
        Assert.Equal("r OK 1", rs.Client.Ask("ds get u32 drv.chr.slowds"));
        Assert.False(rs.Sys.Console.Has("no label in DS"), rs.Console());
        Assert.False(rs.Sys.Console.Has("slowds released after"), rs.Console());
    }

    [Fact]
    public void StoppedDs_DelaysAStartByTheHoldTimeOut_NotForever()
    {
        using var rs = new RsSystem(output, "hold_timeout_ms=1500");
        int ds = DsPid(rs);
        Assert.Equal(0, Native.kill(ds, SigStop));
        int ep;
        try
        {
            var clock = Stopwatch.StartNew();
            ep = UpNoWait(rs, "nods");
            TestSystem.WaitUntil(() => StateOf(rs, ep) != ProcState.Held, "the instance released", 10_000);
            long heldMs = clock.ElapsedMilliseconds;
            Assert.InRange(heldMs, 1300, 6000);
            TestSystem.WaitUntil(() => rs.Sys.Console.Has("rs: nods released after"), "RS says why it released nods");
            Assert.True(rs.Sys.Console.Has("without its label in DS (DS did not answer)"), rs.Console());
            Assert.NotEqual(ProcState.Free, StateOf(rs, ep));
        }
        finally
        {
            Native.kill(ds, SigCont);
        }
        // DS back: the label RS kept in its queue reaches it, and the service runs.
        rs.WaitState("nods", "running");
        TestSystem.WaitUntil(() => rs.Client.Ask("ds get label nods") == $"r OK {ep}", "the label in DS");
    }

    [Fact]
    public void HeldInstanceKilled_IsAStartingInstanceThatDied()
    {
        using var rs = new RsSystem(output, "hold_timeout_ms=60000");
        int ds = DsPid(rs);
        Assert.Equal(0, Native.kill(ds, SigStop));
        try
        {
            int ep = UpNoWait(rs, "killheld");
            TestSystem.WaitUntil(() => StateOf(rs, ep) == ProcState.Held, "the instance held");
            Assert.Equal(0, Native.kill(rs.Sys.Find(ep)!.Value.HostPid, 9));
            TestSystem.WaitUntil(() => rs.Sys.Console.Has("rs: killheld failed: terminated by SIGKILL"), "RS saw the held instance die");
        }
        finally
        {
            Native.kill(ds, SigCont);
        }
        var row = rs.WaitRestarts("killheld", 1);
        Assert.Equal("terminated", row[4]);
    }
}
