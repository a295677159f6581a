// SPAWN Held and PRIVCTL Allow (ProcessCalls.cs; MINIX's RTS_NO_PRIV and SYS_PRIV_ALLOW): a
// process created held runs on the host but none of its traps is served until its parent of
// record (or RS) releases it, so that RS can publish its label and hand its PCI ACL first
// (docs/rs.md). The child here is a SENDREC ping-pong client whose very first act is a trap.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.Privileges;

public sealed class HeldSpawnTests
{
    private static (TestSystem Sys, Puppet Parent, Puppet Server, int Child) StartHeldClient()
    {
        var sys = new TestSystem();
        var parent = sys.StartPuppet("parent", TestSystem.Privileges(calls: [KernelCall.Spawn, KernelCall.PrivCtl, KernelCall.GetKsig, KernelCall.Kill]));
        var server = sys.StartPuppet("server");
        var answer = parent.Ask($"spawn-held client {Trap.MaskAll} 0 - {server.Endpoint} pingpong-client {server.Endpoint} 1");
        Assert.Equal("OK", Puppet.Field(answer, 1));
        return (sys, parent, server, (int)Puppet.LongField(answer, 2));
    }

    [Fact]
    public void HeldProcess_MakesNoIpcUntilItsParentAllowsIt()
    {
        var (sys, parent, server, child) = StartHeldClient();
        using var _ = sys;
        Assert.Equal(ProcState.Held, sys.Find(child)!.Value.State);
        var received = server.AskAsync("recv ANY");
        // The client's runtime starts and rings the doorbell within a few hundred milliseconds;
        // while it is held, nothing reaches the server.
        Assert.False(received.Wait(1500), "a held process's SENDREC was delivered");
        Assert.Equal(ProcState.Held, sys.Find(child)!.Value.State);
        Assert.Equal("r OK", parent.Ask($"allow {child}"));
        Assert.StartsWith($"r OK {child} 1 ", Puppet.Await(received));
        var after = sys.Find(child)!.Value; // delivered, now waiting for the reply
        Assert.Equal((ProcState.Receiving, server.Endpoint), (after.State, after.BlockedOn));
    }

    [Fact]
    public void Allow_OnlyParentOrRs_AndOnlyHeldProcesses()
    {
        var (sys, parent, _, child) = StartHeldClient();
        using var __ = sys;
        var stranger = sys.StartPuppet("stranger", TestSystem.Privileges(calls: [KernelCall.PrivCtl]));
        Assert.Equal("r EPERM", stranger.Ask($"allow {child}"));
        Assert.Equal(ProcState.Held, sys.Find(child)!.Value.State);
        int free = (int)Puppet.LongField(parent.Ask($"spawn free {Trap.MaskAll} 0 - - puppet"), 2);
        Assert.Equal("r EINVAL", parent.Ask($"allow {free}"));
        Assert.Equal("r EDEADSRCDST", parent.Ask($"allow {child + Endpoint.GenerationSize}"));
        Assert.Equal("r OK", parent.Ask($"allow {child}"));
        Assert.Equal("r EINVAL", parent.Ask($"allow {child}"));
    }

    [Fact]
    public void HeldProcess_KilledBeforeRelease_IsReportedLikeAnyChild()
    {
        var (sys, parent, _, child) = StartHeldClient();
        using var _ = sys;
        Assert.Equal("r OK", parent.Ask($"kill {child} 9"));
        Assert.StartsWith($"r OK {Endpoint.System} {NotifyPayload.MessageType}", parent.Ask("recv SYSTEM"));
        Assert.Equal($"r OK {child} {ExitInfo.Signaled} 9", parent.Ask("ksig"));
    }

    [Fact]
    public void Held_IsRefusedWithScriptOrBoot()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("p", TestSystem.Privileges(calls: [KernelCall.Spawn]));
        // SpawnRequest: {PathOffset, PathLength | Flags << 32, ...}: flags checked before any memory is read.
        Assert.StartsWith("r EINVAL", p.Ask($"kcall {KernelCall.Spawn} 0 {(long)(SpawnRequest.Held | SpawnRequest.Script) << 32 | 1}"));
        Assert.StartsWith("r EINVAL", p.Ask($"kcall {KernelCall.Spawn} 0 {(long)(SpawnRequest.Held | SpawnRequest.Boot) << 32 | 1}"));
    }
}
