// Conformance: NOTIFY (thesis §2.1.3): nonblocking; delivered at once to a process receiving
// from the notifier, otherwise kept as one pending bit per sender and merged. Delivered as
// NOTIFY_MESSAGE (4096) with source = notifier and a kernel-filled timestamp. A process
// waiting for a SENDREC reply gets the reply first.
using Bulkhead.Kernel.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class NotifyTests
{
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
