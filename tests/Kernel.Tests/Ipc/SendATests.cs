// Conformance: SENDA (thesis §2.1.3, §3.3.4): a table of {flags, dst, result, message} in the
// caller's arena; the call returns at once, each entry is delivered when its destination
// receives and gets its own result and DONE flag; NOTIFY asks for a notification from ASYNCM.
// The table stays the caller's (untrusted, reread and rechecked at every delivery).
using Bulkhead.Kernel.Tests.Harness;
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
