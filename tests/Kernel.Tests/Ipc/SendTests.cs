// Conformance: SEND (thesis §2.1.3, Fig. 2.2): rendezvous, the sender blocks until the receiver
// takes the message; the kernel stamps m_source; queued senders are served in arrival order.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class SendTests
{
    [Fact]
    public void Send_ToReceivingPeer_DeliversAtOnce()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", a.Ask($"send {b.Endpoint} 11 1234"));
        Assert.Equal(Msg(a.Endpoint, 11, 1234), Puppet.Await(recv));
    }

    [Fact]
    public void Send_ToPeerNotReceiving_BlocksUntilPeerReceives()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var send = a.AskAsync($"send {b.Endpoint} 12 99");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        StillBlocked(send);
        Assert.Equal(Msg(a.Endpoint, 12, 99), b.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(send));
        Assert.Equal(ProcState.Running, sys.Find(a.Endpoint)!.Value.State);
    }

    [Fact]
    public void Send_ForgedSource_ReceiverSeesRealEndpoint()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", a.Ask($"sendas {b.Endpoint} {c.Endpoint} 13 5"));
        Assert.Equal(Msg(a.Endpoint, 13, 5), Puppet.Await(recv));

        // Forging while queued: the stamp happens at the trap, not at delivery.
        var send = a.AskAsync($"sendas {b.Endpoint} {Endpoint.System} 14 6");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        Assert.Equal(Msg(a.Endpoint, 14, 6), b.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(send));
    }

    [Fact]
    public void Receive_FromSpecificEndpoint_IgnoresOtherSenders()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var sendA = a.AskAsync($"send {b.Endpoint} 21 1");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        var recv = b.AskAsync($"recv {c.Endpoint}");
        Blocked(sys, b, ProcState.Receiving, c.Endpoint);
        StillBlocked(recv);
        StillBlocked(sendA, 0);
        Assert.Equal("r OK", c.Ask($"send {b.Endpoint} 22 2"));
        Assert.Equal(Msg(c.Endpoint, 22, 2), Puppet.Await(recv));
        StillBlocked(sendA, 50);
        Assert.Equal(Msg(a.Endpoint, 21, 1), b.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(sendA));
    }

    [Fact]
    public void Receive_FromSpecificEndpoint_TakesThatSenderOutOfQueueOrder()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var sendA = a.AskAsync($"send {b.Endpoint} 23 1");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        var sendC = c.AskAsync($"send {b.Endpoint} 24 2");
        Blocked(sys, c, ProcState.Sending, b.Endpoint);
        Assert.Equal(Msg(c.Endpoint, 24, 2), b.Ask($"recv {c.Endpoint}"));
        Assert.Equal("r OK", Puppet.Await(sendC));
        StillBlocked(sendA, 50);
        Assert.Equal(Msg(a.Endpoint, 23, 1), b.Ask($"recv {a.Endpoint}"));
        Assert.Equal("r OK", Puppet.Await(sendA));
    }

    [Fact]
    public void Receive_SeveralQueuedSenders_ServedInFifoOrder()
    {
        using var sys = new TestSystem();
        var b = sys.StartPuppet("b");
        var senders = new List<Puppet>();
        var sends = new List<Task<string>>();
        // Start them in an order unrelated to their slots.
        var s1 = sys.StartPuppet("s1");
        var s2 = sys.StartPuppet("s2");
        var s3 = sys.StartPuppet("s3");
        foreach (var s in new[] { s3, s1, s2 })
        {
            sends.Add(s.AskAsync($"send {b.Endpoint} 30 {s.Endpoint}"));
            Blocked(sys, s, ProcState.Sending, b.Endpoint);
            senders.Add(s);
        }
        for (int i = 0; i < senders.Count; i++)
        {
            Assert.Equal(Msg(senders[i].Endpoint, 30, senders[i].Endpoint), b.Ask("recv ANY"));
            Assert.Equal("r OK", Puppet.Await(sends[i]));
            for (int j = i + 1; j < sends.Count; j++) Assert.False(sends[j].IsCompleted);
        }
    }

    [Fact]
    public void Receive_Any_TakesFromWhoeverSends()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", c.Ask($"send {b.Endpoint} 31 3"));
        Assert.Equal(Msg(c.Endpoint, 31, 3), Puppet.Await(recv));
        recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", a.Ask($"send {b.Endpoint} 32 4"));
        Assert.Equal(Msg(a.Endpoint, 32, 4), Puppet.Await(recv));
    }

    [Fact]
    public void Receive_NothingPending_BlocksUntilMessageArrives()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        StillBlocked(recv);
        Assert.Equal("r OK", a.Ask($"send {b.Endpoint} 33 0"));
        Assert.Equal(Msg(a.Endpoint, 33), Puppet.Await(recv));
    }

    [Fact]
    public void Receive_NotificationAndQueuedSender_NotificationFirst()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var send = a.AskAsync($"send {b.Endpoint} 34 0");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        Assert.Equal("r OK", c.Ask($"notify {b.Endpoint}"));
        IsNotify(b.Ask("recv ANY"), c.Endpoint);
        Assert.Equal(Msg(a.Endpoint, 34), b.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(send));
    }

    [Fact]
    public void Send_PayloadAndType_ArriveUnchanged()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var send = a.AskAsync($"send {b.Endpoint} -77 {long.MinValue}");
        Blocked(sys, a, ProcState.Sending, b.Endpoint);
        Assert.Equal(Msg(a.Endpoint, -77, long.MinValue), b.Ask($"recv {a.Endpoint}"));
        Assert.Equal("r OK", Puppet.Await(send));
    }
}
