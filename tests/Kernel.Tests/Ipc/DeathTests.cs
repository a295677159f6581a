// Conformance: process death (thesis §2.1, docs/reference.md "Process death"): everyone
// blocked on the dead process gets EDEADSRCDST, its pending notifications and queued messages
// are dropped, and its endpoint is stale forever: the slot's next process has a new generation.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class DeathTests
{
    private static void Die(TestSystem sys, Puppet x, bool kill)
    {
        if (kill)
        {
            Assert.Equal(Err.Ok, sys.Kernel.Kill(x.Endpoint, 9));
            Gone(sys, x.Endpoint);
        }
        else
        {
            Exit(sys, x, 1);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Send_BlockedOnDyingPeer_EDeadSrcDst(bool kill)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var x = sys.StartPuppet("x");
        var send = a.AskAsync($"send {x.Endpoint} 170 0");
        Blocked(sys, a, ProcState.Sending, x.Endpoint);
        Die(sys, x, kill);
        Assert.Equal("r EDEADSRCDST", Puppet.Await(send));
        Assert.Equal(ProcState.Running, sys.Find(a.Endpoint)!.Value.State);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Receive_FromDyingPeer_EDeadSrcDst(bool kill)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var x = sys.StartPuppet("x");
        var recv = a.AskAsync($"recv {x.Endpoint}");
        Blocked(sys, a, ProcState.Receiving, x.Endpoint);
        Die(sys, x, kill);
        Assert.Equal("EDEADSRCDST", Puppet.Field(Puppet.Await(recv), 1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SendRec_ServerDiesBeforeReceiving_EDeadSrcDst(bool kill)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var x = sys.StartPuppet("x");
        var call = a.AskAsync($"sendrec {x.Endpoint} 171 0");
        Blocked(sys, a, ProcState.SendRec, x.Endpoint);
        Die(sys, x, kill);
        Assert.Equal("EDEADSRCDST", Puppet.Field(Puppet.Await(call), 1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SendRec_ServerDiesBeforeReplying_EDeadSrcDst(bool kill)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var x = sys.StartPuppet("x");
        var call = a.AskAsync($"sendrec {x.Endpoint} 172 0");
        Assert.Equal(Msg(a.Endpoint, 172), x.Ask("recv ANY"));
        Blocked(sys, a, ProcState.Receiving, x.Endpoint);
        Die(sys, x, kill);
        Assert.Equal("EDEADSRCDST", Puppet.Field(Puppet.Await(call), 1));
        // The dead server's endpoint is stale for the client's next call.
        Assert.Equal("EDEADSRCDST", Puppet.Field(a.Ask($"sendrec {x.Endpoint} 173 0"), 1));
    }

    [Fact]
    public void Receive_AnyWhileUnrelatedProcessDies_StaysBlocked()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var x = sys.StartPuppet("x");
        var c = sys.StartPuppet("c");
        var recv = a.AskAsync("recv ANY");
        Blocked(sys, a, ProcState.Receiving, Endpoint.Any);
        Die(sys, x, kill: true);
        StillBlocked(recv);
        Assert.Equal("r OK", c.Ask($"send {a.Endpoint} 174 0"));
        Assert.Equal(Msg(c.Endpoint, 174), Puppet.Await(recv));
    }

    [Fact]
    public void Death_OfQueuedSender_RemovesItsMessage()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var x = sys.StartPuppet("x");
        var c = sys.StartPuppet("c");
        var send = x.AskAsync($"send {a.Endpoint} 175 0");
        Blocked(sys, x, ProcState.Sending, a.Endpoint);
        var sendC = c.AskAsync($"send {a.Endpoint} 176 0");
        Blocked(sys, c, ProcState.Sending, a.Endpoint);
        Die(sys, x, kill: true);
        Assert.Equal("<eof>", Puppet.Await(send));
        Assert.Equal(Msg(c.Endpoint, 176), a.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(sendC));
    }

    [Fact]
    public void Death_OfNotifier_DropsPendingNotification()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var x = sys.StartPuppet("x");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", x.Ask($"notify {a.Endpoint}"));
        Die(sys, x, kill: false);
        var send = c.AskAsync($"send {a.Endpoint} 177 0");
        Blocked(sys, c, ProcState.Sending, a.Endpoint);
        Assert.Equal(Msg(c.Endpoint, 177), a.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(send));
    }

    [Fact]
    public void Death_SlotReused_NewGenerationAndOldEndpointStale()
    {
        using var sys = new TestSystem(slots: 20);
        var a = sys.StartPuppet("a");
        var x = sys.StartPuppet("x");
        int old = x.Endpoint;
        int slot = Endpoint.Slot(old);
        Assert.Equal(0, Endpoint.Generation(old));
        Die(sys, x, kill: false);

        Puppet? heir = null;
        for (int i = 0; i < 20 && heir is null; i++)
        {
            var p = sys.StartPuppet("p" + i);
            if (Endpoint.Slot(p.Endpoint) == slot) heir = p;
        }
        Assert.NotNull(heir);
        Assert.NotEqual(old, heir.Endpoint);
        Assert.Equal(0, (heir.Endpoint - old) % Endpoint.GenerationSize);
        Assert.Equal(old + Endpoint.GenerationSize, heir.Endpoint);

        // The old endpoint does not reach the slot's new occupant.
        Assert.Equal("r EDEADSRCDST", a.Ask($"send {old} 178 0"));
        Assert.Equal("r EDEADSRCDST", a.Ask($"notify {old}"));
        Assert.Equal("EDEADSRCDST", Puppet.Field(a.Ask($"recv {old}"), 1));
        var recv = heir.AskAsync("recv ANY");
        Blocked(sys, heir, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r EDEADSRCDST", a.Ask($"sendnb {old} 179 0"));
        StillBlocked(recv, 50);
        Assert.Equal("r OK", a.Ask($"sendnb {heir.Endpoint} 180 0"));
        Assert.Equal(Msg(a.Endpoint, 180), Puppet.Await(recv));
    }
}
