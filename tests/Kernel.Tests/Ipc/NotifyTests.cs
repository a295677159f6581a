// Conformance: NOTIFY (thesis §2.1.3): nonblocking; delivered at once to a process receiving
// from the notifier, otherwise kept as one pending bit per sender and merged. Delivered as
// NOTIFY_MESSAGE (4096) with source = notifier and a kernel-filled timestamp. A process
// waiting for a SENDREC reply gets the reply first.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class NotifyTests
{
    [Fact]
    public void Notify_ToReceivingPeer_DeliveredAtOnce()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        IsNotify(Puppet.Await(recv), a.Endpoint);
    }

    [Fact]
    public void Notify_ToPeerReceivingFromNotifier_DeliveredAtOnce()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var recv = b.AskAsync($"recv {a.Endpoint}");
        Blocked(sys, b, ProcState.Receiving, a.Endpoint);
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        IsNotify(Puppet.Await(recv), a.Endpoint);
    }

    [Fact]
    public void Notify_ToNonReceivingPeer_ReturnsAtOnceAndStaysPending()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        Assert.Equal(ProcState.Running, sys.Find(a.Endpoint)!.Value.State);
        IsNotify(b.Ask("recv ANY"), a.Endpoint);
        NothingElsePending(sys, b, c);
    }

    [Fact]
    public void Notify_ToPeerReceivingFromSomeoneElse_StaysPending()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var recv = b.AskAsync($"recv {c.Endpoint}");
        Blocked(sys, b, ProcState.Receiving, c.Endpoint);
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        StillBlocked(recv);
        Assert.Equal("r OK", c.Ask($"send {b.Endpoint} 78 0"));
        Assert.Equal(Msg(c.Endpoint, 78), Puppet.Await(recv));
        IsNotify(b.Ask($"recv {a.Endpoint}"), a.Endpoint);
    }

    [Fact]
    public void Notify_ManyFromOneSender_MergedIntoExactlyOne()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        for (int i = 0; i < 5; i++) Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        IsNotify(b.Ask("recv ANY"), a.Endpoint);
        NothingElsePending(sys, b, c);
    }

    [Fact]
    public void Notify_FromSeveralSenders_OnePerSender()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var d = sys.StartPuppet("d");
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        Assert.Equal("r OK", c.Ask($"notify {b.Endpoint}"));
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        var first = b.Ask("recv ANY");
        var second = b.Ask("recv ANY");
        var sources = new[] { Puppet.Field(first, 2), Puppet.Field(second, 2) }.Order().ToArray();
        Assert.Equal(new[] { a.Endpoint.ToString(), c.Endpoint.ToString() }.Order().ToArray(), sources);
        IsNotify(first, int.Parse(Puppet.Field(first, 2)));
        IsNotify(second, int.Parse(Puppet.Field(second, 2)));
        NothingElsePending(sys, b, d);
    }

    [Fact]
    public void Notify_ReceiveFromSpecificNotifier_TakesOnlyThatOne()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var d = sys.StartPuppet("d");
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        Assert.Equal("r OK", c.Ask($"notify {b.Endpoint}"));
        IsNotify(b.Ask($"recv {c.Endpoint}"), c.Endpoint);
        IsNotify(b.Ask("recv ANY"), a.Endpoint);
        NothingElsePending(sys, b, d);
    }

    [Fact]
    public void Notify_ToSelf_PendingUntilOwnReceive()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", a.Ask("notify SELF"));
        IsNotify(a.Ask("recv ANY"), a.Endpoint);
        NothingElsePending(sys, a, c);
    }

    [Fact]
    public void Notify_ToClientAwaitingSendRecReply_DeliveredAfterReply()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var n = sys.StartPuppet("n");
        var d = sys.StartPuppet("d");
        var call = client.AskAsync($"sendrec {server.Endpoint} 79 0");
        Assert.Equal(Msg(client.Endpoint, 79), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        Assert.Equal("r OK", n.Ask($"notify {client.Endpoint}"));
        StillBlocked(call);
        Assert.Equal("r OK", server.Ask($"send {client.Endpoint} 80 0"));
        Assert.Equal(Msg(server.Endpoint, 80), Puppet.Await(call));
        IsNotify(client.Ask("recv ANY"), n.Endpoint);
        NothingElsePending(sys, client, d);
    }

    [Fact]
    public void Notify_FromServerToClientAwaitingItsReply_IsNotTakenAsReply()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var call = client.AskAsync($"sendrec {server.Endpoint} 81 0");
        Assert.Equal(Msg(client.Endpoint, 81), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        Assert.Equal("r OK", server.Ask($"notify {client.Endpoint}"));
        StillBlocked(call);
        Assert.Equal("r OK", server.Ask($"send {client.Endpoint} 82 0"));
        Assert.Equal(Msg(server.Endpoint, 82), Puppet.Await(call));
        IsNotify(client.Ask($"recv {server.Endpoint}"), server.Endpoint);
    }

    [Fact]
    public void Notify_Flood_KeepsOneBitAndKernelStaysResponsive()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK 100000", a.Ask($"notifyn {b.Endpoint} 100000", 60_000));
        Assert.Equal(3, sys.Kernel.ProcessTable().Count(p => p.State != ProcState.Zombie));
        IsNotify(b.Ask("recv ANY"), a.Endpoint);
        NothingElsePending(sys, b, c);
        Assert.StartsWith("ep ", c.Ask("whoami"));
    }
}
