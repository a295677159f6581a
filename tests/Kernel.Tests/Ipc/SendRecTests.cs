// Conformance: SENDREC (thesis Fig. 2.2, §2.1.3): send and wait for the reply in one trap.
// The kernel switches the caller to receiving in the same step that delivers the request, so
// a server replying with SENDNB always finds the client ready: the race of §2.1.3 that a
// SEND followed by a separate RECEIVE loses.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class SendRecTests
{
    [Fact]
    public void SendRec_ToReceivingServer_DeliversRequestAndReply()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var recv = server.AskAsync("recv ANY");
        var call = client.AskAsync($"sendrec {server.Endpoint} 42 7");
        Assert.Equal($"r OK {client.Endpoint} 42 7 0 0", Puppet.Await(recv));
        Assert.Equal("r OK", server.Ask($"send {client.Endpoint} 43 8"));
        Assert.Equal($"r OK {server.Endpoint} 43 8 0 0", Puppet.Await(call));
    }

    [Fact]
    public void SendRec_ServerNotReceiving_QueuesThenAwaitsReply()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var call = client.AskAsync($"sendrec {server.Endpoint} 44 1");
        Blocked(sys, client, ProcState.SendRec, server.Endpoint);
        Assert.Equal(Msg(client.Endpoint, 44, 1), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        StillBlocked(call);
        Assert.Equal("r OK", server.Ask($"sendnb {client.Endpoint} 45 2"));
        Assert.Equal(Msg(server.Endpoint, 45, 2), Puppet.Await(call));
    }

    [Fact]
    public void SendRec_AwaitingReply_AcceptsOnlyTheServer()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var other = sys.StartPuppet("other");
        var call = client.AskAsync($"sendrec {server.Endpoint} 46 0");
        Assert.Equal(Msg(client.Endpoint, 46), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        Assert.Equal("r ENOTREADY", other.Ask($"sendnb {client.Endpoint} 99 0"));
        var send = other.AskAsync($"send {client.Endpoint} 98 0");
        Blocked(sys, other, ProcState.Sending, client.Endpoint);
        StillBlocked(call, 50);
        Assert.Equal("r OK", server.Ask($"send {client.Endpoint} 47 0"));
        Assert.Equal(Msg(server.Endpoint, 47), Puppet.Await(call));
        // The other sender was only queued; the client takes it with its next RECEIVE.
        Assert.Equal(Msg(other.Endpoint, 98), client.Ask("recv ANY"));
        Assert.Equal("r OK", Puppet.Await(send));
    }

    [Fact]
    public void SendRec_ServerRepliesWithSendNb_AlwaysReachesClient()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        const int rounds = 200;
        var serve = server.AskAsync($"nbserve {rounds}");
        Assert.Equal($"r OK {rounds} -", client.Ask($"sendrecn {server.Endpoint} {rounds} 50"));
        Assert.Equal($"r OK {rounds} 0 -", Puppet.Await(serve));
    }

    [Fact]
    public void SendThenReceive_ServerRepliesWithSendNb_FailsWithENotReady()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var recv = server.AskAsync("recv ANY");
        Blocked(sys, server, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", client.Ask($"send {server.Endpoint} 51 3"));
        Assert.Equal(Msg(client.Endpoint, 51, 3), Puppet.Await(recv));
        // The client is between its SEND and its RECEIVE: the nonblocking reply is lost.
        var gap = client.AskAsync("sleep 100");
        Assert.Equal("r ENOTREADY", server.Ask($"sendnb {client.Endpoint} 52 3"));
        Assert.Equal("r OK", Puppet.Await(gap));
        var reply = client.AskAsync($"recv {server.Endpoint}");
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        StillBlocked(reply, 50); // the failed reply was not buffered
        Assert.Equal("r OK", server.Ask($"sendnb {client.Endpoint} 53 4"));
        Assert.Equal(Msg(server.Endpoint, 53, 4), Puppet.Await(reply));
    }

    [Fact]
    public void SendRec_Reply_IsNotDeliveredToLaterReceive()
    {
        // A reply sent while the client waits goes to the SENDREC; the next RECEIVE sees only new traffic.
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var other = sys.StartPuppet("other");
        var call = client.AskAsync($"sendrec {server.Endpoint} 54 0");
        Assert.Equal(Msg(client.Endpoint, 54), server.Ask("recv ANY"));
        Assert.Equal("r OK", server.Ask($"send {client.Endpoint} 55 0"));
        Assert.Equal(Msg(server.Endpoint, 55), Puppet.Await(call));
        var recv = client.AskAsync("recv ANY");
        Blocked(sys, client, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", other.Ask($"send {client.Endpoint} 56 0"));
        Assert.Equal(Msg(other.Endpoint, 56), Puppet.Await(recv));
    }

    [Fact]
    public void SendRec_ForgedSource_ServerSeesRealEndpoint()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var recv = server.AskAsync("recv ANY");
        Blocked(sys, server, ProcState.Receiving, Endpoint.Any);
        var call = client.AskAsync($"sendrec {server.Endpoint} 57 0");
        Assert.Equal(Msg(client.Endpoint, 57), Puppet.Await(recv));
        Assert.Equal("r OK", server.Ask($"sendas {client.Endpoint} {Endpoint.Pm} 58 0"));
        Assert.Equal(Msg(server.Endpoint, 58), Puppet.Await(call));
    }
}
