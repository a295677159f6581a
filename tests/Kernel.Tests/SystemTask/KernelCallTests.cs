// The informational kernel calls: SYSCTL diagnostics, TIMES, SETALARM (NOTIFY from CLOCK),
// GETINFO (kernel info, process table, identity); and their argument checks.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.SystemTask;

public sealed class KernelCallTests
{
    [Fact]
    public void SysCtl_Diag_GoesToConsoleAsNameAndText()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("talker");
        Assert.Equal("r OK", p.Ask("diag hello from talker"));
        Assert.True(sys.Console.Has("talker: hello from talker"));
    }

    [Fact]
    public void SysCtl_BufferOutsideArena_IsEfault()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("p");
        // payload: Op=1 Length=100 (packed in the first long), Offset far outside.
        long opAndLength = 1 | (100L << 32);
        Assert.StartsWith("r EFAULT", p.Ask($"kcall {KernelCall.SysCtl} {opAndLength} {long.MaxValue - 10}"));
        Assert.StartsWith("r EFAULT", p.Ask($"kcall {KernelCall.SysCtl} {opAndLength} -5"));
        long tooLong = 1 | ((long)(SysCtlRequest.MaxDiagLength + 1) << 32);
        Assert.StartsWith("r EFAULT", p.Ask($"kcall {KernelCall.SysCtl} {tooLong} {SysCall.HeapStart}"));
        Assert.StartsWith("r EINVAL", p.Ask($"kcall {KernelCall.SysCtl} 7 {SysCall.HeapStart}"));
    }

    [Fact]
    public void Times_ReportsCpuAndGrowingUptime()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("p");
        var t1 = p.Ask("times SELF");
        Thread.Sleep(20);
        var t2 = p.Ask("times SELF");
        Assert.Equal("OK", Puppet.Field(t1, 1));
        Assert.True(Puppet.LongField(t1, 2) > 0, "a running .NET process has used CPU");
        Assert.True(Puppet.LongField(t2, 3) - Puppet.LongField(t1, 3) >= 15_000_000);
        Assert.StartsWith("r EDEADSRCDST", p.Ask($"times {p.Endpoint + Endpoint.GenerationSize}"));
    }

    [Fact]
    public void SetAlarm_ExpiryNotifiesFromClock()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("p");
        Assert.Equal("r OK 0", p.Ask("alarm 30"));
        var n = p.Ask("recv ANY");
        Assert.StartsWith($"r OK {Endpoint.Clock} {NotifyPayload.MessageType} ", n);
        Assert.True(Puppet.LongField(n, 4) > 0, "timestamp");
    }

    [Fact]
    public void SetAlarm_Replacing_ReturnsRemainingAndCancelWorks()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("p");
        Assert.Equal("r OK 0", p.Ask("alarm 60000"));
        var prev = p.Ask("alarm 0");
        Assert.True(Puppet.LongField(prev, 2) > 50_000_000_000L, prev);
        Assert.Equal("r OK 0", p.Ask("alarm 10"));
        Assert.StartsWith($"r OK {Endpoint.Clock}", p.Ask("recv CLOCK"));
    }

    [Fact]
    public void GetInfo_ProcTab_ListsProcessesWithState()
    {
        using var sys = new TestSystem();
        var a = sys.StartPuppet("alpha");
        var b = sys.StartPuppet("beta");
        _ = b.AskAsync("recv ANY");
        TestSystem.WaitUntil(() => sys.Find(b.Endpoint)?.State == ProcState.Receiving, "beta receiving");
        var tab = a.Ask("proctab");
        Assert.StartsWith("r OK 2 ", tab);
        // The last field is the scheduling level: a process whose runtime start-up used whole
        // quanta may be demoted for a moment (Scheduler.cs), so only the state is pinned here.
        Assert.Contains($"alpha:{Endpoint.Slot(a.Endpoint)}:{a.Endpoint}:Running:", tab);
        Assert.Contains($"beta:{Endpoint.Slot(b.Endpoint)}:{b.Endpoint}:Receiving:", tab);
        Assert.Equal($"r OK {a.Endpoint} {Endpoint.Slot(a.Endpoint)} alpha", a.Ask("whoami-k"));
    }

    [Fact]
    public void GetInfo_UnknownKind_IsEinval()
    {
        using var sys = new TestSystem();
        var p = sys.StartPuppet("p");
        Assert.StartsWith("r EINVAL", p.Ask($"kcall {KernelCall.GetInfo} 99"));
        // ProcTab into a buffer outside the arena.
        long whatAndLen = GetInfoRequest.ProcTab | (4096L << 32);
        Assert.StartsWith("r EFAULT", p.Ask($"kcall {KernelCall.GetInfo} {whatAndLen} {1L << 40}"));
    }
}
