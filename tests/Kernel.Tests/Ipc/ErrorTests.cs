// Conformance: the trap checks, in MINIX's order: primitive known (EBADCALL) → primitive in
// the trap mask (ETRAPDENIED) → destination valid (EINVAL for ANY, EDEADSRCDST for a dead or
// stale endpoint, ETRAPDENIED for a kernel task) → destination in the send mask (ECALLDENIED).
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using static Bulkhead.Kernel.Tests.Ipc.IpcKit;

namespace Bulkhead.Kernel.Tests.Ipc;

[Collection(IpcKit.Collection)]
public sealed class ErrorTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public void Trap_UnknownNumber_EBadCall(int trap)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var b = sys.StartPuppet("b");
        Assert.Equal("EBADCALL", Puppet.Field(a.Ask($"trap {trap} {b.Endpoint}"), 1));
        // Still fully usable afterwards.
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
    }

    [Fact]
    public void Trap_UnknownNumberWithEmptyMask_EBadCallBeforeETrapDenied()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a", TestSystem.Privileges(traps: 0, flags: PrivilegeBlock.AllTargets));
        Assert.Equal("EBADCALL", Puppet.Field(a.Ask("trap 9 ANY"), 1));
        Assert.Equal("ETRAPDENIED", Puppet.Field(a.Ask("trap 2 ANY"), 1));
    }

    [Fact]
    public void Trap_NotInMask_ETrapDenied()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var user = sys.StartPuppet("user", TestSystem.Privileges(traps: Trap.MaskUser, flags: PrivilegeBlock.AllTargets));
        Assert.Equal("r ETRAPDENIED", user.Ask($"send {server.Endpoint} 150 0"));
        Assert.Equal("r ETRAPDENIED", user.Ask($"sendnb {server.Endpoint} 150 0"));
        Assert.Equal("r ETRAPDENIED", user.Ask($"notify {server.Endpoint}"));
        Assert.Equal("ETRAPDENIED", Puppet.Field(user.Ask($"recv {server.Endpoint}"), 1));
        Assert.Equal("ETRAPDENIED", Puppet.Field(user.Ask("recv ANY"), 1));
        Assert.Equal("r ETRAPDENIED", user.Ask($"senda 0 1 {server.Endpoint}:150:1"));
        Assert.Equal("a 1 12345", user.Ask("asyncstat 0 0"));
        // Nothing reached the server: SENDREC, the one allowed primitive, is the first thing it sees.
        var recv = server.AskAsync("recv ANY");
        var call = user.AskAsync($"sendrec {server.Endpoint} 151 0");
        Assert.Equal(Msg(user.Endpoint, 151), Puppet.Await(recv));
        Assert.Equal("r OK", server.Ask($"send {user.Endpoint} 152 0"));
        Assert.Equal(Msg(server.Endpoint, 152), Puppet.Await(call));
    }

    [Theory]
    [InlineData(Trap.Send, "send {0} 153 0")]
    [InlineData(Trap.Receive, "recv {0}")]
    [InlineData(Trap.SendRec, "sendrec {0} 153 0")]
    [InlineData(Trap.Notify, "notify {0}")]
    [InlineData(Trap.SendNb, "sendnb {0} 153 0")]
    [InlineData(Trap.SendA, "senda 0 1 {0}:153:1")]
    public void Trap_OnlyThatPrimitiveMissing_ETrapDenied(int trap, string command)
    {
        using var sys = new TestSystem();
        var b = sys.StartPuppet("b");
        var a = sys.StartPuppet("a", TestSystem.Privileges(traps: Trap.MaskAll & ~Trap.Bit(trap), flags: PrivilegeBlock.AllTargets));
        Assert.Equal("ETRAPDENIED", Puppet.Field(a.Ask(string.Format(command, b.Endpoint)), 1));
    }

    [Fact]
    public void Trap_NotInMaskWithInvalidDestination_ETrapDeniedFirst()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a", TestSystem.Privileges(traps: Trap.Bit(Trap.Receive), flags: PrivilegeBlock.AllTargets));
        Assert.Equal("r ETRAPDENIED", a.Ask("send ANY 154 0"));
        Assert.Equal("r ETRAPDENIED", a.Ask("notify NONE"));
    }

    [Theory]
    [InlineData("send ANY 155 0")]
    [InlineData("sendrec ANY 155 0")]
    [InlineData("notify ANY")]
    [InlineData("sendnb ANY 155 0")]
    public void SendLike_ToAny_EInval(string command)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        Assert.Equal("EINVAL", Puppet.Field(a.Ask(command), 1));
        Assert.Equal(ProcState.Running, sys.Find(a.Endpoint)!.Value.State);
    }

    [Theory]
    [InlineData("send {0} 156 0")]
    [InlineData("sendrec {0} 156 0")]
    [InlineData("sendnb {0} 156 0")]
    [InlineData("notify {0}")]
    [InlineData("recv {0}")]
    public void Primitive_ToExitedProcess_EDeadSrcDst(string command)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        var gone = sys.StartPuppet("gone");
        Exit(sys, gone);
        Assert.Equal("EDEADSRCDST", Puppet.Field(a.Ask(string.Format(command, gone.Endpoint)), 1));
    }

    [Theory]
    [InlineData("send {0} 157 0")]
    [InlineData("sendrec {0} 157 0")]
    [InlineData("notify {0}")]
    [InlineData("recv {0}")]
    public void Primitive_ToNoneOrUnusedSlot_EDeadSrcDst(string command)
    {
        using var sys = new TestSystem(slots: 20);
        var a = sys.StartPuppet("a");
        Assert.Equal("EDEADSRCDST", Puppet.Field(a.Ask(string.Format(command, "NONE")), 1));
        Assert.Equal("EDEADSRCDST", Puppet.Field(a.Ask(string.Format(command, 19)), 1));       // free slot
        Assert.Equal("EDEADSRCDST", Puppet.Field(a.Ask(string.Format(command, 500)), 1));      // no such slot
        Assert.Equal("EDEADSRCDST", Puppet.Field(a.Ask(string.Format(command, a.Endpoint + Endpoint.GenerationSize)), 1)); // own slot, wrong generation
    }

    [Theory]
    [InlineData("send {0} 158 0")]
    [InlineData("sendrec {0} 158 0")]
    [InlineData("sendnb {0} 158 0")]
    [InlineData("notify {0}")]
    public void SendLike_TargetNotInSendMask_ECallDenied(string command)
    {
        using var sys = new TestSystem();
        var b = sys.StartPuppet("b", Only());
        var c = sys.StartPuppet("c", Only());
        var a = sys.StartPuppet("a", Only(c.Endpoint));
        var recv = b.AskAsync("recv ANY");
        Blocked(sys, b, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("ECALLDENIED", Puppet.Field(a.Ask(string.Format(command, b.Endpoint)), 1));
        StillBlocked(recv, 50);
        // The listed target is reachable.
        Assert.Equal("r OK", a.Ask($"notify {c.Endpoint}"));
        IsNotify(c.Ask("recv ANY"), a.Endpoint);
    }

    [Fact]
    public void SendMask_IsSymmetric_ListedTargetMaySendBack()
    {
        using var sys = new TestSystem();
        var b = sys.StartPuppet("b", Only());
        var a = sys.StartPuppet("a", Only(b.Endpoint));
        // b lists nobody, but a lists b: b may send to a.
        var recv = a.AskAsync("recv ANY");
        Blocked(sys, a, ProcState.Receiving, Endpoint.Any);
        Assert.Equal("r OK", b.Ask($"send {a.Endpoint} 159 0"));
        Assert.Equal(Msg(b.Endpoint, 159), Puppet.Await(recv));
        Assert.Equal("r OK", b.Ask($"notify {a.Endpoint}"));
        IsNotify(a.Ask("recv ANY"), b.Endpoint);
        var call = b.AskAsync($"sendrec {a.Endpoint} 160 0");
        Assert.Equal(Msg(b.Endpoint, 160), a.Ask("recv ANY"));
        Assert.Equal("r OK", a.Ask($"sendnb {b.Endpoint} 161 0"));
        Assert.Equal(Msg(a.Endpoint, 161), Puppet.Await(call));
    }

    [Fact]
    public void Receive_FromProcessNotInSendMask_Allowed()
    {
        using var sys = new TestSystem();
        var b = sys.StartPuppet("b", Only());
        var a = sys.StartPuppet("a", Only());
        var recv = a.AskAsync($"recv {b.Endpoint}");
        Blocked(sys, a, ProcState.Receiving, b.Endpoint);
        StillBlocked(recv, 50);
        Assert.Equal(Err.Ok, sys.Kernel.Kill(b.Endpoint, 9));
        Assert.Equal("EDEADSRCDST", Puppet.Field(Puppet.Await(recv), 1));
    }

    [Theory]
    [InlineData("send {0} 162 0")]
    [InlineData("sendnb {0} 162 0")]
    [InlineData("notify {0}")]
    public void SendLike_ToKernelTask_ETrapDenied(string command)
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("a");
        foreach (var task in new[] { Endpoint.System, Endpoint.Clock, Endpoint.Hardware, Endpoint.Idle, Endpoint.AsyncM })
            Assert.Equal("ETRAPDENIED", Puppet.Field(a.Ask(string.Format(command, task)), 1));
    }
}
