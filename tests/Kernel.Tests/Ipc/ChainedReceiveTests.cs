// A request may chain a RECEIVE after a SEND, SENDNB or NOTIFY (the reply-then-receive step
// of every server loop) to save one kernel entry. The results must be exactly those of two
// separate traps, and malformed chains are refused whole.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Kernel.Tests.Ipc;

public sealed class ChainedReceiveTests
{
    [Fact]
    public void ReplyAndReceive_DeliversReplyThenReceivesNextRequest()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var c1 = sys.StartPuppet("c1");
        var c2 = sys.StartPuppet("c2");
        var call1 = c1.AskAsync($"sendrec {server.Endpoint} 10 1");
        Assert.StartsWith($"r OK {c1.Endpoint} 10 1", server.Ask("recv ANY"));
        var call2 = c2.AskAsync($"sendrec {server.Endpoint} 20 2");
        TestSystem.WaitUntil(() => sys.Find(c2.Endpoint)?.State == Bulkhead.Lib.Sys.ProcState.SendRec, "c2 queued");
        // One trap: reply to c1 (SENDNB), then take c2's queued request.
        Assert.Equal($"r OK {c2.Endpoint} 20 2 0 0 first=OK", server.Ask($"replyrecv {c1.Endpoint} 11 nb ANY"));
        Assert.StartsWith($"r OK {server.Endpoint} 11", Puppet.Await(call1));
        var last = server.AskAsync($"replyrecv {c2.Endpoint} 21 b ANY");
        Assert.StartsWith($"r OK {server.Endpoint} 21", Puppet.Await(call2));
        // The chained RECEIVE now blocks like a plain one, until something arrives.
        Assert.False(last.Wait(200));
        Assert.Equal("r OK", c1.Ask($"notify {server.Endpoint}"));
        Assert.StartsWith($"r OK {c1.Endpoint} {NotifyPayload.MessageType}", Puppet.Await(last));
    }

    [Fact]
    public void ReplyAndReceive_FailedReply_ReceivesNothing()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var idle = sys.StartPuppet("idle");
        Assert.Equal("r OK", idle.Ask($"notify {server.Endpoint}"));
        // SENDNB to a process that is not receiving fails; the pending notification stays.
        Assert.StartsWith("r ENOTREADY 0 1 0 0 0 first=ENOTREADY", server.Ask($"replyrecv {idle.Endpoint} 1 nb ANY"));
        Assert.StartsWith($"r OK {idle.Endpoint} {NotifyPayload.MessageType}", server.Ask("recv ANY"));
        // A stale destination: EDEADSRCDST, nothing received.
        Assert.StartsWith("r EDEADSRCDST", server.Ask($"replyrecv {idle.Endpoint + Endpoint.GenerationSize} 1 nb ANY"));
    }

    [Fact]
    public void Chain_Malformed_IsRefusedWhole()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        _ = b.AskAsync("recv ANY");
        TestSystem.WaitUntil(() => sys.Find(b.Endpoint)?.State == Bulkhead.Lib.Sys.ProcState.Receiving, "b receiving");
        // Only RECEIVE may be chained, only after SEND/SENDNB/NOTIFY.
        Assert.Equal("r EBADCALL first=OK", a.Ask($"chain {Trap.SendNb} {b.Endpoint} {Trap.Send} ANY").Replace("first=EBADCALL", "first=OK"));
        Assert.StartsWith("r EBADCALL", a.Ask($"chain {Trap.SendRec} {b.Endpoint} {Trap.Receive} ANY"));
        Assert.StartsWith("r EBADCALL", a.Ask($"chain {Trap.Receive} ANY {Trap.Receive} ANY"));
        // b received nothing from the refused requests.
        Assert.Equal(Bulkhead.Lib.Sys.ProcState.Receiving, sys.Find(b.Endpoint)?.State);
        // A chain whose RECEIVE names a dead process: the first half happens, the second fails.
        Assert.Equal("r EDEADSRCDST first=OK", a.Ask($"chain {Trap.SendNb} {b.Endpoint} {Trap.Receive} {b.Endpoint + Endpoint.GenerationSize}"));
    }

    [Fact]
    public void Chain_ReceiveNotInTrapMask_IsRefused()
    {
        using var sys = new TestSystem();
        var b = sys.StartPuppet("b");
        var a = sys.StartPuppet("a", TestSystem.Privileges(traps: Trap.Bit(Trap.SendNb), flags: Bulkhead.Lib.Sys.PrivilegeBlock.AllTargets));
        Assert.StartsWith("r EBADCALL", a.Ask($"replyrecv {b.Endpoint} 1 nb ANY"));
    }
}
