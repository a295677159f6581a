// Conformance: SENDA (thesis §2.1.3, §3.3.4): a table of {flags, dst, result, message} in the
// caller's arena; the call returns at once, each entry is delivered when its destination
// receives and gets its own result and DONE flag; NOTIFY asks for a notification from ASYNCM.
// The table stays the caller's (untrusted, reread and rechecked at every delivery).
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class SendATests
{
    private const int Valid = AsyncEntry.Valid;
    private const int ValidDone = AsyncEntry.Valid | AsyncEntry.Done;
    private const int Untouched = 12345; // the puppet's initial result

    [Fact]
    public void SendA_ToReceivingPeer_DeliveredAtOnceAndMarkedDone()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", a.Ask($"senda 0 1 {b.Endpoint}:90:{Valid}"));
        Assert.Equal(Msg(a.Endpoint, 90), Puppet.Await(recv));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 0"));
    }

    [Fact]
    public void SendA_ToNonReceivingPeer_ReturnsAtOnceDeliveredOnReceive()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", a.Ask($"senda 0 1 {b.Endpoint}:91:{Valid}"));
        Assert.Equal(ProcState.Running, sys.Find(a.Endpoint)!.Value.State);
        Assert.Equal($"a {Valid} {Untouched}", a.Ask("asyncstat 0 0"));
        Assert.Equal(Msg(a.Endpoint, 91), b.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 0"));
        NothingElsePending(sys, b, c);
    }

    [Fact]
    public void SendA_ReceiveFromSender_TakesAsyncMessage()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        Assert.Equal("r OK", a.Ask($"senda 0 1 {b.Endpoint}:92:{Valid}"));
        Assert.Equal(Msg(a.Endpoint, 92), b.Ask($"recv {a.Endpoint}"));
    }

    [Fact]
    public void SendA_SeveralEntries_PerEntryResultsInTableOrder()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var d = sys.StartPuppet("d");
        Assert.Equal("r OK", a.Ask($"senda 0 3 {b.Endpoint}:93:{Valid} {c.Endpoint}:94:{Valid} {b.Endpoint}:95:{Valid}"));
        Assert.Equal(Msg(a.Endpoint, 94), c.Ask("recv ANY"));
        Assert.Equal($"a {Valid} {Untouched}", a.Ask("asyncstat 0 0"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 1"));
        Assert.Equal($"a {Valid} {Untouched}", a.Ask("asyncstat 0 2"));
        Assert.Equal(Msg(a.Endpoint, 93), b.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 0"));
        Assert.Equal($"a {Valid} {Untouched}", a.Ask("asyncstat 0 2"));
        Assert.Equal(Msg(a.Endpoint, 95), b.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 2"));
        NothingElsePending(sys, b, d);
    }

    [Fact]
    public void SendA_BadDestination_ThatEntryEDeadSrcDst()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var dead = sys.StartPuppet("dead");
        Exit(sys, dead);
        Assert.Equal("r OK", a.Ask($"senda 0 3 {dead.Endpoint}:96:{Valid} {b.Endpoint}:97:{Valid} NONE:98:{Valid}"));
        Assert.Equal($"a {ValidDone} EDEADSRCDST", a.Ask("asyncstat 0 0"));
        Assert.Equal($"a {Valid} {Untouched}", a.Ask("asyncstat 0 1"));
        Assert.Equal($"a {ValidDone} EDEADSRCDST", a.Ask("asyncstat 0 2"));
        Assert.Equal(Msg(a.Endpoint, 97), b.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 1"));
    }

    [Fact]
    public void SendA_DestinationNotInSendMask_ThatEntryECallDenied()
    {
        using var sys = new TestSystem();
        var b = sys.StartPuppet("b", Only());
        var c = sys.StartPuppet("c", Only());
        var a = sys.StartPuppet("a", Only(c.Endpoint));
        Assert.Equal("r OK", a.Ask($"senda 0 2 {b.Endpoint}:99:{Valid} {c.Endpoint}:100:{Valid}"));
        Assert.Equal($"a {ValidDone} ECALLDENIED", a.Ask("asyncstat 0 0"));
        Assert.Equal(Msg(a.Endpoint, 100), c.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 1"));
    }

    [Fact]
    public void SendA_UnknownFlags_ThatEntryEInval()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        Assert.Equal("r OK", a.Ask($"senda 0 2 {b.Endpoint}:101:{Valid | 64} {b.Endpoint}:102:{Valid}"));
        Assert.Equal($"a {ValidDone | 64} EINVAL", a.Ask("asyncstat 0 0"));
        Assert.Equal(Msg(a.Endpoint, 102), b.Ask("recv ANY"));
    }

    [Fact]
    public void SendA_EmptyAndDoneEntries_Skipped()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", a.Ask($"senda 0 3 {b.Endpoint}:103:0 {b.Endpoint}:104:{ValidDone} {b.Endpoint}:105:{Valid}"));
        Assert.Equal(Msg(a.Endpoint, 105), b.Ask("recv ANY"));
        Assert.Equal($"a 0 {Untouched}", a.Ask("asyncstat 0 0"));
        Assert.Equal($"a {ValidDone} {Untouched}", a.Ask("asyncstat 0 1"));
        NothingElsePending(sys, b, c);
    }

    [Fact]
    public void SendA_TableOutsideArena_FailsEFault()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        Assert.Equal("r EFAULT", a.Ask($"senda-raw {1L << 40} 1"));
        Assert.Equal("r EFAULT", a.Ask("senda-raw -80 1"));
        // Straddling the end of the (default 4 MiB) arena.
        Assert.Equal("r EFAULT", a.Ask($"senda-raw {(4L << 20) - 40} 1"));
        Assert.Equal("r OK", a.Ask($"senda-raw {(4L << 20) - 80} 1"));
    }

    [Fact]
    public void SendA_TableTooLarge_FailsEDom()
    {
        using var sys = new TestSystem(slots: 20);
        var a = sys.StartPuppet("a");
        int max = 16 * (20 + Endpoint.TaskCount);
        Assert.Equal("r OK", a.Ask($"senda-raw {SysCall.HeapStart} {max}"));
        Assert.Equal("r EDOM", a.Ask($"senda-raw {SysCall.HeapStart} {max + 1}"));
        Assert.Equal("r EDOM", a.Ask($"senda-raw {SysCall.HeapStart} -1"));
        // Size is checked before the address.
        Assert.Equal("r EDOM", a.Ask($"senda-raw {1L << 40} {max + 1}"));
    }

    [Fact]
    public void SendA_NotifyFlag_NotificationFromAsyncM()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", a.Ask($"senda 0 1 {b.Endpoint}:106:{Valid | AsyncEntry.NotifyWhenDone}"));
        Assert.Equal(Msg(a.Endpoint, 106), b.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone | AsyncEntry.NotifyWhenDone} OK", a.Ask("asyncstat 0 0"));
        IsNotify(a.Ask("recv ANY"), Endpoint.AsyncM);
        NothingElsePending(sys, a, c);
    }

    [Fact]
    public void SendA_NotifyOnError_OnlyForFailedEntries()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", a.Ask($"senda 0 1 {b.Endpoint}:107:{Valid | AsyncEntry.NotifyOnError}"));
        Assert.Equal(Msg(a.Endpoint, 107), b.Ask("recv ANY"));
        NothingElsePending(sys, a, c);
        Assert.Equal("r OK", a.Ask($"senda 0 1 NONE:108:{Valid | AsyncEntry.NotifyOnError}"));
        Assert.Equal($"a {ValidDone | AsyncEntry.NotifyOnError} EDEADSRCDST", a.Ask("asyncstat 0 0"));
        IsNotify(a.Ask($"recv {Endpoint.AsyncM}"), Endpoint.AsyncM);
    }

    [Fact]
    public void SendA_SenderChangesOtherEntries_PendingEntriesStillProcessed()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var d = sys.StartPuppet("d");
        Assert.Equal("r OK", a.Ask($"senda 0 3 {b.Endpoint}:110:{Valid} {c.Endpoint}:111:{Valid} {d.Endpoint}:112:{Valid}"));
        // The table is the caller's: it rewrites entry 0 and empties entry 2 behind the kernel's back.
        Assert.Equal("r OK", a.Ask($"asyncset 0 0 {b.Endpoint}:120:{Valid}"));
        Assert.Equal("r OK", a.Ask($"asyncset 0 2 {d.Endpoint}:112:0"));
        Assert.Equal(Msg(a.Endpoint, 111), c.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 1"));
        Assert.Equal(Msg(a.Endpoint, 120), b.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 0"));
        Assert.Equal($"a 0 {Untouched}", a.Ask("asyncstat 0 2"));
        NothingElsePending(sys, d, c);
    }

    [Fact]
    public void SendA_ToClientAwaitingSendRecReply_DeliveredAfterReply()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var a = sys.StartPuppet("a");
        var call = client.AskAsync($"sendrec {server.Endpoint} 113 0");
        Assert.Equal(Msg(client.Endpoint, 113), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        Assert.Equal("r OK", a.Ask($"senda 0 1 {client.Endpoint}:114:{Valid}"));
        StillBlocked(call);
        Assert.Equal($"a {Valid} {Untouched}", a.Ask("asyncstat 0 0"));
        Assert.Equal("r OK", server.Ask($"send {client.Endpoint} 115 0"));
        Assert.Equal(Msg(server.Endpoint, 115), Puppet.Await(call));
        Assert.Equal(Msg(a.Endpoint, 114), client.Ask("recv ANY"));
        Assert.Equal($"a {ValidDone} OK", a.Ask("asyncstat 0 0"));
    }

    [Fact]
    public void SendA_SenderDies_PendingEntriesDropped()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", a.Ask($"senda 0 1 {b.Endpoint}:116:{Valid}"));
        Exit(sys, a);
        NothingElsePending(sys, b, c);
    }

    [Fact]
    public void SendA_ServerRepliesToClientAwaitingSendRec_DeliveredAsReply()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        var call = client.AskAsync($"sendrec {server.Endpoint} 121 0");
        Assert.Equal(Msg(client.Endpoint, 121), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        Assert.Equal("r OK", server.Ask($"senda 0 1 {client.Endpoint}:122:{Valid}"));
        Assert.Equal(Msg(server.Endpoint, 122), Puppet.Await(call));
        Assert.Equal($"a {ValidDone} OK", server.Ask("asyncstat 0 0"));
    }

    [Fact]
    public void SendA_NoReplyFlagToClientAwaitingSendRec_NotTakenAsReply()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var client = sys.StartPuppet("client");
        const int noReply = Valid | AsyncEntry.NoReply;
        var call = client.AskAsync($"sendrec {server.Endpoint} 123 0");
        Assert.Equal(Msg(client.Endpoint, 123), server.Ask("recv ANY"));
        Blocked(sys, client, ProcState.Receiving, server.Endpoint);
        Assert.Equal("r OK", server.Ask($"senda 0 1 {client.Endpoint}:124:{noReply}"));
        StillBlocked(call);
        Assert.Equal($"a {noReply} {Untouched}", server.Ask("asyncstat 0 0"));
        Assert.Equal("r OK", server.Ask($"send {client.Endpoint} 125 0"));
        Assert.Equal(Msg(server.Endpoint, 125), Puppet.Await(call));
        Assert.Equal(Msg(server.Endpoint, 124), client.Ask("recv ANY"));
        Assert.Equal($"a {noReply | AsyncEntry.Done} OK", server.Ask("asyncstat 0 0"));
    }

    [Fact]
    public void SendA_ToPeerReceivingFromSomeoneElse_StaysPending()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        var recv = b.AskAsync($"recv {c.Endpoint}");
        Blocked(sys, b, ProcState.Receiving, c.Endpoint);
        Assert.Equal("r OK", a.Ask($"senda 0 1 {b.Endpoint}:126:{Valid}"));
        StillBlocked(recv);
        Assert.Equal($"a {Valid} {Untouched}", a.Ask("asyncstat 0 0"));
        Assert.Equal("r OK", c.Ask($"send {b.Endpoint} 127 0"));
        Assert.Equal(Msg(c.Endpoint, 127), Puppet.Await(recv));
        Assert.Equal(Msg(a.Endpoint, 126), b.Ask("recv ANY"));
    }

    [Fact]
    public void SendA_NewCall_ReplacesPreviousTable()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        var c = sys.StartPuppet("c");
        Assert.Equal("r OK", a.Ask($"senda 0 1 {b.Endpoint}:128:{Valid}"));
        Assert.Equal("r OK", a.Ask($"senda 4096 1 {c.Endpoint}:129:{Valid}"));
        Assert.Equal(Msg(a.Endpoint, 129), c.Ask("recv ANY"));
        // The first table is no longer the kernel's business: b gets nothing from it.
        NothingElsePending(sys, b, c);
        Assert.Equal($"a {Valid} {Untouched}", a.Ask("asyncstat 0 0"));
    }
}
