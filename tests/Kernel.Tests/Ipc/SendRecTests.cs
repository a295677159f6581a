// Conformance: SEND, RECEIVE, SENDREC (thesis Fig. 2.2) between two processes.
using Bulkhead.Kernel.Tests.Harness;

namespace Bulkhead.Kernel.Tests.Ipc;

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
}
