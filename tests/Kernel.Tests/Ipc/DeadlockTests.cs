// Conformance: ELOCKED (MINIX deadlock()): a blocking SEND, SENDREC or RECEIVE that would
// close a cycle of blocked processes fails at once; the processes already blocked stay so.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class DeadlockTests
{
    [Fact]
    public void Send_TwoProcessesSendingToEachOther_SecondGetsELocked()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var send = a.AskAsync($"send {b.Endpoint} 130 0");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        Assert.Equal("r ELOCKED", b.Ask($"send {a.Endpoint} 131 0"));
        // a is still blocked and completes normally.
        Assert.False(send.IsCompleted);
        Assert.Equal(Msg(a.Endpoint, 130), b.Ask($"recv {a.Endpoint}"));
        Assert.Equal("r OK", Puppet.Await(send));
    }

    [Fact]
    public void SendRec_TwoProcessesCallingEachOther_SecondGetsELocked()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var call = a.AskAsync($"sendrec {b.Endpoint} 132 0");
        Blocked(sys, a, ProcState.SendRec, b.Endpoint);
        Assert.Equal("ELOCKED", Puppet.Field(b.Ask($"sendrec {a.Endpoint} 133 0"), 1));
        Assert.Equal(Msg(a.Endpoint, 132), b.Ask("recv ANY"));
        Assert.Equal("r OK", b.Ask($"send {a.Endpoint} 134 0"));
        Assert.Equal(Msg(b.Endpoint, 134), Puppet.Await(call));
    }

    [Fact]
    public void Send_ThreeCycle_ClosingSendGetsELocked()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var ab = a.AskAsync($"send {b.Endpoint} 135 0");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        var bc = b.AskAsync($"send {c.Endpoint} 136 0");
        Blocked(sys, b, ProcState.Sending, c.Endpoint);
        Assert.Equal("r ELOCKED", c.Ask($"send {a.Endpoint} 137 0"));
        Assert.Equal(Msg(b.Endpoint, 136), c.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(bc));
        Assert.Equal(Msg(a.Endpoint, 135), b.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(ab));
    }

    [Fact]
    public void Send_ThreeCycleThroughReceiver_ELocked()
    {
        // a sends to b, b receives from c, c sends to a: a real cycle of mixed directions.
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var ab = a.AskAsync($"send {b.Endpoint} 138 0");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        var bc = b.AskAsync($"recv {c.Endpoint}");
        Blocked(sys, b, ProcState.Receiving, c.Endpoint);
        Assert.Equal("r ELOCKED", c.Ask($"send {a.Endpoint} 139 0"));
        Assert.Equal("r OK", c.Ask($"send {b.Endpoint} 140 0"));
        Assert.Equal(Msg(c.Endpoint, 140), Puppet.Await(bc));
        Assert.Equal(Msg(a.Endpoint, 138), b.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(ab));
    }

    [Fact]
    public void Send_ChainWithoutCycle_Blocks()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var ab = a.AskAsync($"send {b.Endpoint} 141 0");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        var bc = b.AskAsync($"send {c.Endpoint} 142 0");
        Blocked(sys, b, ProcState.Sending, c.Endpoint);
        StillBlocked(bc, 50);
        Assert.Equal(Msg(b.Endpoint, 142), c.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(bc));
        Assert.Equal(Msg(a.Endpoint, 141), b.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(ab));
    }

    [Theory]
    [InlineData("send SELF 143 0")]
    [InlineData("send {0} 143 0")]
    [InlineData("recv SELF")]
    [InlineData("recv {0}")]
    public void SendOrReceive_Self_ELocked(string command)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        Assert.Equal("ELOCKED", Puppet.Field(a.Ask(string.Format(command, a.Endpoint)), 1));
        Assert.Equal(ProcState.Running, sys.Find(a.Endpoint)!.Value.State);
    }

    [Fact]
    public void SendRec_Self_ELocked()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        Assert.Equal("ELOCKED", Puppet.Field(a.Ask("sendrec SELF 144 0"), 1));
    }

    [Fact]
    public void Receive_TwoProcessesReceivingFromEachOther_SecondGetsELocked()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var ra = a.AskAsync($"recv {b.Endpoint}");
        Blocked(sys, a, ProcState.Receiving, b.Endpoint);
        Assert.Equal("ELOCKED", Puppet.Field(b.Ask($"recv {a.Endpoint}"), 1));
        Assert.Equal("r OK", b.Ask($"send {a.Endpoint} 145 0"));
        Assert.Equal(Msg(b.Endpoint, 145), Puppet.Await(ra));
    }

    [Fact]
    public void Receive_FromClientAwaitingOurReply_ELocked()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var call = client.AskAsync($"sendrec {server.Endpoint} 146 0");
        Assert.Equal(Msg(client.Endpoint, 146), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        Assert.Equal("ELOCKED", Puppet.Field(server.Ask($"recv {client.Endpoint}"), 1));
        Assert.Equal("r OK", server.Ask($"send {client.Endpoint} 147 0"));
        Assert.Equal(Msg(server.Endpoint, 147), Puppet.Await(call));
    }

    [Fact]
    public void Send_ToProcessReceivingFromCaller_NoDeadlock()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var rb = b.AskAsync($"recv {a.Endpoint}");
        Blocked(sys, b, ProcState.Receiving, a.Endpoint);
        Assert.Equal("r OK", a.Ask($"send {b.Endpoint} 148 0"));
        Assert.Equal(Msg(a.Endpoint, 148), Puppet.Await(rb));
    }
}
