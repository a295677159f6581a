// Least authority (thesis §2.3.1): each privilege mask denies exactly what it does not list.
// Trap mask → ETRAPDENIED, send mask (symmetric) → ECALLDENIED, kernel-call mask →
// ECALLDENIED; unknown calls → EBADREQUEST; every denial is counted in its Fig. 5.5 category.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.Privileges;

public sealed class PrivilegeTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void TrapMask_SendRecOnly_DeniesEveryOtherPrimitive()
    {
        using var sys = new TestSystem();
        var server = sys.StartPuppet("server");
        var user = sys.StartPuppet("user", TestSystem.Privileges(traps: Trap.MaskUser, targets: [server.Endpoint]));
        Assert.Equal("r ETRAPDENIED", user.Ask($"send {server.Endpoint} 1 1"));
        Assert.Equal("r ETRAPDENIED", user.Ask($"sendnb {server.Endpoint} 1 1"));
        Assert.Equal("r ETRAPDENIED", user.Ask($"notify {server.Endpoint}"));
        Assert.StartsWith("r ETRAPDENIED", user.Ask("recv ANY"));
        Assert.Equal("r ETRAPDENIED", user.Ask("senda 0 0"));
        // ...and only that: SENDREC works.
        var call = user.AskAsync($"sendrec {server.Endpoint} 9 9");
        Assert.StartsWith($"r OK {user.Endpoint} 9 9", server.Ask("recv ANY"));
        Assert.Equal("r OK", server.Ask($"send {user.Endpoint} 10 10"));
        Assert.StartsWith($"r OK {server.Endpoint} 10 10", Puppet.Await(call));
    }

    [Fact]
    public void SendMask_IsSymmetricAndDeniesUnlisted()
    {
        using var sys = new TestSystem();
        var b = sys.StartPuppet("b", TestSystem.Privileges());
        var c = sys.StartPuppet("c", TestSystem.Privileges());
        var a = sys.StartPuppet("a", TestSystem.Privileges(targets: [b.Endpoint]));
        // A lists B: A → B allowed, and B → A allowed by symmetry.
        Assert.Equal("r ENOTREADY", a.Ask($"sendnb {b.Endpoint} 1 1"));
        Assert.Equal("r ENOTREADY", b.Ask($"sendnb {a.Endpoint} 1 1"));
        Assert.Equal("r OK", a.Ask($"notify {b.Endpoint}"));
        // Nobody lists C (and C lists nobody).
        Assert.Equal("r ECALLDENIED", a.Ask($"sendnb {c.Endpoint} 1 1"));
        Assert.Equal("r ECALLDENIED", c.Ask($"notify {a.Endpoint}"));
        Assert.Equal("r ECALLDENIED", c.Ask($"send {b.Endpoint} 1 1"));
        Assert.StartsWith("r ECALLDENIED", c.Ask($"sendrec {b.Endpoint} 1 1"));
    }

    [Fact]
    public void KernelCallMask_DeniesUnlistedAndRejectsUnknown()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("p", TestSystem.Privileges(calls: [KernelCall.Times, KernelCall.GetInfo]));
        Assert.StartsWith("r OK", p.Ask("times SELF"));
        Assert.Equal("r ECALLDENIED", p.Ask("diag hello"));
        Assert.StartsWith("r ECALLDENIED", p.Ask("alarm 10"));
        Assert.StartsWith("r ECALLDENIED", p.Ask($"kcall {KernelCall.Spawn}"));
        Assert.StartsWith("r ECALLDENIED", p.Ask($"kcall {KernelCall.PrivCtl}"));
        Assert.StartsWith("r EBADREQUEST", p.Ask("kcall 99"));
        Assert.StartsWith("r EBADREQUEST", p.Ask("kcall -1"));
        Assert.StartsWith("r EBADREQUEST", p.Ask("kcall 100000"));

        var counts = Puppet.Field(p.Ask("denials"), 1) == "OK" ? p.Ask("denials").Split(' ')[2..].Select(long.Parse).ToArray() : [];
        Assert.Equal(DenialText.Count, counts.Length);
        Assert.Equal(4, counts[(int)Denial.KernelCallNotAllowed]);
        Assert.Equal(3, counts[(int)Denial.InvalidKernelCall]);
        var table = sys.Kernel.Denials();
        Assert.Equal(4, table[(int)Denial.KernelCallNotAllowed]);
    }

    [Fact]
    public void Denials_CountedPerCategory()
    {
        using var sys = new TestSystem();
        var target = sys.StartPuppet("target", TestSystem.Privileges());
        var p = sys.StartPuppet("p", TestSystem.Privileges(traps: Trap.Bit(Trap.Send) | Trap.Bit(Trap.Notify), calls: [KernelCall.GetInfo]));
        p.Ask("trap 77 0");                          // invalid primitive
        p.Ask("recv ANY");                           // primitive not allowed
        p.Ask($"notify {target.Endpoint}");          // unauthorized destination
        p.Ask($"notify {target.Endpoint + Endpoint.GenerationSize}"); // invalid destination
        var d = sys.Kernel.Denials();
        Assert.Equal(2, d[(int)Denial.InvalidPrimitive]);
        Assert.Equal(1, d[(int)Denial.UnauthorizedDestination]);
        Assert.Equal(1, d[(int)Denial.InvalidDestination]);
        Assert.Equal(4, sys.Find(p.Endpoint)!.Value.Denials);
    }

    [Fact]
    public void Spawn_ChildRunsWithInstalledPrivilegesFromItsFirstTrap()
    {
        using var sys = new TestSystem();
        var parent = sys.StartPuppet("parent", TestSystem.Privileges(calls: [KernelCall.Spawn, KernelCall.GetKsig, KernelCall.Kill, KernelCall.GetInfo], flags: PrivilegeBlock.AllTargets));
        // The child is a hostile process limited to SENDREC and TIMES: its own seeded flood
        // must be denied from the first trap on.
        var answer = parent.Ask($"spawn child {Trap.MaskUser} 0 {KernelCall.Times} - hostile 7 2000");
        Assert.Equal("OK", Puppet.Field(answer, 1));
        int child = (int)Puppet.LongField(answer, 2);
        TestSystem.WaitUntil(() => sys.Find(child) is null or { State: ProcState.Zombie }, "child finished");
        // The parent of record collects the exit.
        var ksig = parent.Ask("ksig");
        Assert.Equal($"r OK {child} {ExitInfo.Exited} 0", ksig);
        var d = sys.Kernel.Denials();
        Assert.True(d[(int)Denial.InvalidPrimitive] > 0);
        Assert.True(d[(int)Denial.KernelCallNotAllowed] > 0);
        Assert.Equal($"r OK {Endpoint.None} 0 0", parent.Ask("ksig"));
    }

    [Fact]
    public void Kill_OnlyByParentOfRecord()
    {
        using var sys = new TestSystem();
        var parent = sys.StartPuppet("parent", TestSystem.Privileges(calls: [KernelCall.Spawn, KernelCall.GetKsig, KernelCall.Kill]));
        var stranger = sys.StartPuppet("stranger", TestSystem.Privileges(calls: [KernelCall.Kill]));
        int child = (int)Puppet.LongField(parent.Ask($"spawn child {Trap.MaskAll} 0 - - puppet"), 2);
        Assert.Equal("r EPERM", stranger.Ask($"kill {child} 9"));
        Assert.NotNull(sys.Find(child));
        Assert.Equal("r OK", parent.Ask($"kill {child} 9"));
        // The parent gets a NOTIFY from SYSTEM, then the report.
        var n = parent.Ask("recv SYSTEM");
        Assert.StartsWith($"r OK {Endpoint.System} {NotifyPayload.MessageType}", n);
        Assert.Equal($"r OK {child} {ExitInfo.Signaled} 9", parent.Ask("ksig"));
    }

    [Fact]
    public void PrivCtl_OnlyParentAndOnlyMutableChildren()
    {
        using var sys = new TestSystem();
        var parent = sys.StartPuppet("parent", TestSystem.Privileges(calls: [KernelCall.Spawn, KernelCall.PrivCtl]));
        var other = sys.StartPuppet("other", TestSystem.Privileges(calls: [KernelCall.PrivCtl]));
        int fixedChild = (int)Puppet.LongField(parent.Ask($"spawn fixed {Trap.MaskAll} 0 - - puppet"), 2);
        int mutableChild = (int)Puppet.LongField(parent.Ask($"spawn mutable {Trap.MaskAll} {PrivilegeBlock.Mutable} - - puppet"), 2);
        Assert.Equal("r EPERM", parent.Ask($"privctl {fixedChild} {Trap.MaskAll} 0"));
        Assert.Equal("r EPERM", other.Ask($"privctl {mutableChild} {Trap.MaskAll} 0"));
        Assert.Equal("r OK", parent.Ask($"privctl {mutableChild} {Trap.MaskAll} {PrivilegeBlock.AllTargets | PrivilegeBlock.Mutable}"));
        Assert.Equal(PrivilegeBlock.AllTargets | PrivilegeBlock.Mutable, sys.Find(mutableChild)!.Value.Flags);
        Assert.Equal("r EDEADSRCDST", parent.Ask($"privctl {mutableChild + Endpoint.GenerationSize} 0 0"));
    }

    [Fact]
    public void Spawn_FromMemoryImage_RunsWithoutTheFile()
    {
        using var sys = new TestSystem(output: output);
        // The parent reads the binary from the host: it needs the host view.
        var parent = sys.StartPuppet("parent", TestSystem.Privileges(calls: [KernelCall.Spawn, KernelCall.GetKsig]), files: Host.Jail.JailView.Host);
        string copy = Path.Combine(Path.GetTempPath(), $"bulkhead-false-{Environment.ProcessId}");
        File.Copy("/bin/false", copy, overwrite: true);
        try
        {
            // The parent reads the binary into its arena, then the file is gone before the kernel execs it.
            var answer = parent.AskAsync($"spawn-image copy {copy}");
            string a = Puppet.Await(answer);
            Assert.Equal("OK", Puppet.Field(a, 1));
            int child = (int)Puppet.LongField(a, 2);
            TestSystem.WaitUntil(() => sys.Find(child) is { State: ProcState.Zombie }, "image exited");
            Assert.Equal($"r OK {child} {ExitInfo.Exited} 1", parent.Ask("ksig"));
        }
        finally
        {
            File.Delete(copy);
        }
        Assert.Equal(Err.ENOENT, sys.Kernel.Spawn(new ProcessSpec { Name = "missing", Path = copy }));
    }

    [Fact]
    public void ReservedSlot_IsSkippedByDynamicAllocation_UntilStartedByNumber()
    {
        // Boot reserves every boot process's slot before it starts any (init's etc/rc runs
        // meanwhile): a dynamically placed process must not take one.
        using var sys = new TestSystem(slots: 24);
        int a = Endpoint.Slot(sys.StartPuppet("a", TestSystem.Privileges()).Endpoint);
        sys.Kernel.ReserveSlots([a + 1]);
        Assert.Equal(a + 2, Endpoint.Slot(sys.StartPuppet("b", TestSystem.Privileges()).Endpoint));
        var boot = sys.StartPuppet("boot", TestSystem.Privileges(), slot: a + 1);
        Assert.Equal(a + 1, Endpoint.Slot(boot.Endpoint));
        // Started by number, the slot is an ordinary one again once free.
        int ep = boot.Endpoint;
        _ = boot.AskAsync("crash exit 0");
        TestSystem.WaitUntil(() => sys.Find(ep) is null, "boot gone");
        var more = Enumerable.Range(0, 22 - a).Select(i => Endpoint.Slot(sys.StartPuppet("c" + i, TestSystem.Privileges()).Endpoint)).ToList();
        Assert.Contains(a + 1, more);
    }

    [Fact]
    public void TargetList_StaleEndpoint_DoesNotReachTheSlotsNextProcess()
    {
        using var sys = new TestSystem(slots: 24);
        var old = sys.StartPuppet("old", TestSystem.Privileges());
        int stale = old.Endpoint;
        _ = old.AskAsync("crash exit 0");
        TestSystem.WaitUntil(() => sys.Find(stale) is null, "old gone");
        // Start processes until one lands in the old slot.
        Puppet? heir = null;
        for (int i = 0; i < 10 && heir is null; i++)
        {
            var p = sys.StartPuppet("heir" + i, TestSystem.Privileges());
            if (Endpoint.Slot(p.Endpoint) == Endpoint.Slot(stale))
            {
                heir = p;
                break;
            }
            _ = p.AskAsync("crash exit 0");
            TestSystem.WaitUntil(() => sys.Find(p.Endpoint) is null, "a non-heir gone");
        }
        Assert.NotNull(heir);
        // A process whose target list names the stale endpoint may not reach the heir.
        var a = sys.StartPuppet("a", TestSystem.Privileges(targets: [stale]));
        Assert.Equal("r ECALLDENIED", a.Ask($"notify {heir!.Endpoint}"));
    }
}
