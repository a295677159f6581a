// Conformance: SENDNB (thesis §2.1.3, §3.3.4): deliver only if the destination is receiving
// from the caller right now, otherwise ENOTREADY at once; never blocks, never buffers, never
// reports a deadlock.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class SendNbTests
{
    [Fact]
    public void SendNb_ToReceivingPeer_DeliversOk()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", a.Ask($"sendnb {b.Endpoint} 61 9"));
        Assert.Equal(Msg(a.Endpoint, 61, 9), Puppet.Await(recv));
    }

    [Fact]
    public void SendNb_ToPeerReceivingFromCaller_DeliversOk()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var recv = b.AskAsync($"recv {a.Endpoint}");
        Blocked(sys, b, ProcState.Receiving, a.Endpoint);
        Assert.Equal("r OK", a.Ask($"sendnb {b.Endpoint} 62 0"));
        Assert.Equal(Msg(a.Endpoint, 62), Puppet.Await(recv));
    }

    [Fact]
    public void SendNb_ToNonReceivingPeer_FailsENotReadyAndIsNotBuffered()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r ENOTREADY", a.Ask($"sendnb {b.Endpoint} 63 0"));
        Assert.Equal(ProcState.Running, sys.Find(a.Endpoint)!.Value.State);
        // Nothing was kept: the next thing b receives is c's message.
        var send = c.AskAsync($"send {b.Endpoint} 64 0");
        Blocked(sys, c, ProcState.Sending, b.Endpoint);
        Assert.Equal(Msg(c.Endpoint, 64), b.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(send));
    }

    [Fact]
    public void SendNb_ToPeerReceivingFromSomeoneElse_FailsENotReady()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var recv = b.AskAsync($"recv {c.Endpoint}");
        Blocked(sys, b, ProcState.Receiving, c.Endpoint);
        Assert.Equal("r ENOTREADY", a.Ask($"sendnb {b.Endpoint} 65 0"));
        StillBlocked(recv, 50);
        Assert.Equal("r OK", c.Ask($"sendnb {b.Endpoint} 66 0"));
        Assert.Equal(Msg(c.Endpoint, 66), Puppet.Await(recv));
    }

    [Fact]
    public void SendNb_ToPeerBlockedSendingToCaller_FailsENotReadyNotELocked()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var send = b.AskAsync($"send {a.Endpoint} 67 0");
        Blocked(sys, b, ProcState.Sending, a.Endpoint);
        Assert.Equal("r ENOTREADY", a.Ask($"sendnb {b.Endpoint} 68 0"));
        Assert.Equal(Msg(b.Endpoint, 67), a.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(send));
    }

    [Fact]
    public void SendNb_ToClientAwaitingAnotherServersReply_FailsENotReady()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var other = sys.StartPuppet("other");
        var call = client.AskAsync($"sendrec {server.Endpoint} 69 0");
        Assert.Equal(Msg(client.Endpoint, 69), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        Assert.Equal("r ENOTREADY", other.Ask($"sendnb {client.Endpoint} 70 0"));
        Assert.Equal("r OK", server.Ask($"sendnb {client.Endpoint} 71 0"));
        Assert.Equal(Msg(server.Endpoint, 71), Puppet.Await(call));
    }
}
