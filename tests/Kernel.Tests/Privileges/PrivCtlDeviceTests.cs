// Device resources handed out at run time (thesis §3.3.3; src/Kernel/System/ProcessCalls.cs
// PrivCtlAddResource, InfoCalls.cs ReportDenial): a trusted bus driver (PrivilegeBlock.
// DeviceAuthority) gives another process I/O ports with PRIVCTL AddIo and an IRQ line with
// AddIrq, after which DEVIO and IRQCTL work for it on exactly those; and it counts the
// denials it makes itself with SYSCTL ReportDenial. Nobody else may do either (EPERM, counted
// as "request rejected"), a DeviceAuthority process is never a target, bad ranges are EINVAL
// and a full range table ENOSPC. Calls are raw "kcall" with three longs of payload:
// PrivCtlRequest = {Target | Op << 32, PrivOffset, Base | Length << 32};
// SysCtlRequest = {Op | Length << 32, Offset, Category | Offender << 32}.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;

namespace Bulkhead.Kernel.Tests.Privileges;

public sealed class PrivCtlDeviceTests : IDisposable
{
    private const int Port = 0x300, Irq = 5;

    private readonly ScratchDevice _dev = new();
    private readonly TestSystem _sys;

    public PrivCtlDeviceTests()
    {
        var io = new IoSpace();
        Assert.True(io.Register(Port, 8, _dev));
        _sys = new TestSystem(io: io);
        _dev.Irq = _sys.Kernel.IrqLine(Irq);
    }

    public void Dispose() => _sys.Dispose();

    private static readonly int[] DeviceCalls = [KernelCall.DevIo, KernelCall.IrqCtl];

    /// <summary>A trusted bus driver: PRIVCTL and SYSCTL, DeviceAuthority; also DEVIO and IRQCTL
    /// so that its own (missing) ports can be checked.</summary>
    private Puppet Authority(string name = "pci") =>
        _sys.StartPuppet(name, TestSystem.Privileges(calls: [KernelCall.PrivCtl, KernelCall.SysCtl, .. DeviceCalls],
            flags: PrivilegeBlock.AllTargets | PrivilegeBlock.DeviceAuthority));

    /// <summary>A driver that may make the device calls but owns no port and no IRQ line.</summary>
    private Puppet Driver(string name = "drv", int ioBase = -1, int ioLength = 0)
    {
        var p = TestSystem.Privileges(calls: DeviceCalls, flags: PrivilegeBlock.AllTargets);
        if (ioBase >= 0) Assert.True(p.AddIoRange(ioBase, ioLength));
        return _sys.StartPuppet(name, p);
    }

    private static long Pack(int low, int high) => (uint)low | ((long)high << 32);

    private static string PrivCtl(Puppet caller, int target, int op, int @base, int length = 0) =>
        caller.Ask($"kcall {KernelCall.PrivCtl} {Pack(target, op)} 0 {Pack(@base, length)}");

    private static string AddIo(Puppet caller, int target, int @base, int length) =>
        PrivCtl(caller, target, PrivCtlRequest.AddIo, @base, length);

    private static string AddIrq(Puppet caller, int target, int line) => PrivCtl(caller, target, PrivCtlRequest.AddIrq, line);

    private static string Report(Puppet caller, int category, int offender) =>
        caller.Ask($"kcall {KernelCall.SysCtl} {SysCtlRequest.ReportDenial} 0 {Pack(category, offender)}");

    private static string Result(string answer) => Puppet.Field(answer, 1);

    private void AssertDenials(long[] before, params (Denial What, int N)[] expected) => DenialAssert.Moved(_sys, before, expected);

    [Fact]
    public void AddIo_ByDeviceAuthority_OpensExactlyThosePortsToTheTarget()
    {
        var pci = Authority();
        var d = Driver();
        Assert.Equal("r EPERM 0", d.Ask($"in {Port} 1"));
        Assert.Equal("OK", Result(AddIo(pci, d.Endpoint, Port, 4)));
        Assert.Equal("r OK", d.Ask($"out {Port} 1 171"));
        Assert.Equal(0xAB, _dev.Regs[0]);
        Assert.Equal("r OK 171", d.Ask($"in {Port} 1"));
        Assert.Equal("r OK", d.Ask($"out {Port + 3} 1 7"));
        Assert.Equal("r EPERM 0", d.Ask($"in {Port + 4} 1"));  // past the range
        Assert.Equal("r EPERM 0", d.Ask($"in {Port + 2} 4"));  // straddles its end
        Assert.Equal("OK", Result(AddIo(pci, d.Endpoint, Port + 4, 4)));
        Assert.Equal("r OK", d.Ask($"out {Port + 6} 2 4660"));
        Assert.Equal((byte)0x34, _dev.Regs[6]);
        // Only the target got them.
        Assert.Equal("r EPERM 0", pci.Ask($"in {Port} 1"));
    }

    [Fact]
    public void AddIrq_ByDeviceAuthority_LetsTheTargetTakeInterruptsOnThatLine()
    {
        var pci = Authority();
        var d = Driver();
        Assert.Equal("r EPERM", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} {Irq} 3"));
        Assert.Equal("OK", Result(AddIrq(pci, d.Endpoint, Irq)));
        Assert.Equal("OK", Result(AddIo(pci, d.Endpoint, Port, 8)));
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} {Irq} 3"));
        Assert.Equal("r EPERM", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} {Irq + 1} 4")); // only that line
        Assert.Equal("r OK", d.Ask($"out {Port + 7} 1 1"));                          // the device interrupts
        var n = d.Ask("recv HARDWARE");
        Assert.StartsWith($"r OK {Endpoint.Hardware} {NotifyPayload.MessageType} ", n);
        Assert.Equal(1L << 3, Puppet.LongField(n, 5));
    }

    [Fact]
    public void AddIoAndAddIrq_CallerWithoutDeviceAuthority_IsEpermCountedAndChangesNothing()
    {
        var plain = _sys.StartPuppet("plain", TestSystem.Privileges(calls: [KernelCall.PrivCtl, KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets));
        var d = Driver();
        var denials = _sys.Kernel.Denials();
        Assert.Equal("EPERM", Result(AddIo(plain, d.Endpoint, Port, 8)));
        Assert.Equal("EPERM", Result(AddIrq(plain, d.Endpoint, Irq)));
        Assert.Equal("EPERM", Result(AddIo(plain, plain.Endpoint, Port, 8))); // not for itself either
        AssertDenials(denials, (Denial.RequestRejected, 3));
        Assert.Equal("r EPERM 0", d.Ask($"in {Port} 1"));
        Assert.Equal("r EPERM", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} {Irq} 0"));
        AssertDenials(denials, (Denial.RequestRejected, 3), (Denial.DevicePortNotAllowed, 1), (Denial.DeviceIrqNotAllowed, 1));
    }

    [Fact]
    public void AddIoAndAddIrq_TargetIsSelfOrADeviceAuthority_IsEperm()
    {
        var pci = Authority("pci");
        var iommu = Authority("iommu");
        var denials = _sys.Kernel.Denials();
        Assert.Equal("EPERM", Result(AddIo(pci, pci.Endpoint, Port, 8)));
        Assert.Equal("EPERM", Result(AddIrq(pci, pci.Endpoint, Irq)));
        Assert.Equal("EPERM", Result(AddIo(pci, iommu.Endpoint, Port, 8)));
        Assert.Equal("EPERM", Result(AddIrq(pci, iommu.Endpoint, Irq)));
        AssertDenials(denials, (Denial.RequestRejected, 4));
        foreach (var p in new[] { pci, iommu })
        {
            Assert.Equal("r EPERM 0", p.Ask($"in {Port} 1"));
            Assert.Equal("r EPERM", p.Ask($"irqctl {IrqCtlRequest.SetPolicy} {Irq} 0"));
        }
        // A dead target is no target at all.
        Assert.Equal("EDEADSRCDST", Result(AddIo(pci, Endpoint.Make(2, 50), Port, 8)));
    }

    [Fact]
    public void AddIoAndAddIrq_BadRangeOrOp_IsEinvalAndChangesNothing()
    {
        var pci = Authority();
        var d = Driver();
        var denials = _sys.Kernel.Denials();
        (int Op, int Base, int Length, string Why)[] bad =
        [
            (PrivCtlRequest.AddIo, -1, 4, "negative base"),
            (PrivCtlRequest.AddIo, 0x10000, 1, "base past the port space"),
            (PrivCtlRequest.AddIo, Port, 0, "empty"),
            (PrivCtlRequest.AddIo, Port, -8, "negative length"),
            (PrivCtlRequest.AddIo, 0, 0x10000, "the whole space does not fit a range entry"),
            (PrivCtlRequest.AddIo, 0xFFFF, 2, "runs past 0xffff"),
            (PrivCtlRequest.AddIo, 0xFFF0, 0x7FFF_FFF0, "base + length overflows an int"),
            (PrivCtlRequest.AddIrq, -1, 0, "negative line"),
            (PrivCtlRequest.AddIrq, 64, 0, "line 64"),
            (4, Port, 8, "unknown op"),
            (-1, Port, 8, "negative op"),
        ];
        foreach (var (op, b, n, why) in bad)
        {
            var a = PrivCtl(pci, d.Endpoint, op, b, n);
            Assert.True(Result(a) == "EINVAL", $"{why} (op {op} base {b} length {n}): {a}");
        }
        AssertDenials(denials);
        Assert.Equal("r EPERM 0", d.Ask($"in {Port} 1"));
        Assert.Equal("r EPERM", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} {Irq} 0"));
        // The limits themselves are fine.
        Assert.Equal("OK", Result(AddIo(pci, d.Endpoint, 0xFFFF, 1)));
        Assert.Equal("OK", Result(AddIo(pci, d.Endpoint, 0, 0xFFFF)));
        Assert.Equal("OK", Result(AddIrq(pci, d.Endpoint, 63)));
        Assert.Equal("OK", Result(AddIrq(pci, d.Endpoint, 0)));
        Assert.Equal("r OK", d.Ask($"out {Port} 1 171"));
        Assert.Equal(0xAB, _dev.Regs[0]);
    }

    [Fact]
    public void AddIo_RangeTableFull_IsEnospc()
    {
        var pci = Authority();
        var d = Driver(ioBase: Port, ioLength: 8); // one range from its spawn privileges
        for (int i = 1; i < PrivilegeBlock.MaxIoRanges; i++)
            Assert.True(Result(AddIo(pci, d.Endpoint, 0x1000 + 16 * i, 2)) == "OK", $"range {i}");
        Assert.Equal("ENOSPC", Result(AddIo(pci, d.Endpoint, 0x2000, 2)));
        Assert.Equal("r EPERM 0", d.Ask("in 8192 1"));
        // What it already has needs no new entry; IRQ lines are not ranges.
        Assert.Equal("OK", Result(AddIo(pci, d.Endpoint, Port + 2, 4)));
        Assert.Equal("OK", Result(AddIo(pci, d.Endpoint, 0x1000 + 16 * 15, 2)));
        Assert.Equal("OK", Result(AddIrq(pci, d.Endpoint, Irq)));
        Assert.Equal("r OK", d.Ask($"out {0x1000 + 16 * 15 + 1} 1 0"));
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} {Irq} 1"));
    }

    [Fact]
    public void GrantedPortsAndIrq_SurviveANewPrivilegeBlockFromTheParent_AndEndWithTheProcess()
    {
        var pci = Authority();
        var pm = _sys.StartPuppet("pm", TestSystem.Privileges(calls: [KernelCall.PrivCtl], flags: PrivilegeBlock.AllTargets));
        var d = _sys.StartPuppet("drv", TestSystem.Privileges(calls: DeviceCalls, flags: PrivilegeBlock.AllTargets | PrivilegeBlock.Mutable), parent: pm.Endpoint);
        Assert.Equal("OK", Result(AddIo(pci, d.Endpoint, Port, 8)));
        Assert.Equal("OK", Result(AddIrq(pci, d.Endpoint, Irq)));
        Assert.StartsWith("r OK", d.Ask($"in {Port} 1"));
        // The parent installs a new block (as RS would to add targets): the device stays the driver's.
        string calls = string.Join(',', DeviceCalls);
        Assert.Equal("r OK", pm.Ask($"privctl {d.Endpoint} {Trap.MaskAll} {PrivilegeBlock.AllTargets | PrivilegeBlock.Mutable} - {calls}"));
        Assert.StartsWith("r OK", d.Ask($"in {Port} 1"));
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} {Irq} 1"));
        // A block without the device calls takes the calls away, not the device.
        Assert.Equal("r OK", pm.Ask($"privctl {d.Endpoint} {Trap.MaskAll} {PrivilegeBlock.AllTargets | PrivilegeBlock.Mutable} -"));
        Assert.StartsWith("r ECALLDENIED", d.Ask($"in {Port} 1"));
        Assert.Equal("r OK", pm.Ask($"privctl {d.Endpoint} {Trap.MaskAll} {PrivilegeBlock.AllTargets | PrivilegeBlock.Mutable} - {calls}"));
        Assert.StartsWith("r OK", d.Ask($"in {Port + 7} 1"));
        Assert.StartsWith("r EPERM", d.Ask($"in {Port + 8} 1"));
    }

    [Fact]
    public void DeviceAuthority_IsHandedOnOnlyByAProcessThatHasIt()
    {
        uint flag = PrivilegeBlock.DeviceAuthority;
        var spawner = _sys.StartPuppet("pm", TestSystem.Privileges(calls: [KernelCall.Spawn, KernelCall.PrivCtl], flags: PrivilegeBlock.AllTargets));
        var before = _sys.Kernel.Denials();
        Assert.Equal("EPERM", Result(spawner.Ask($"spawn child {Trap.MaskAll} {flag} - - puppet")));
        AssertDenials(before, (Denial.RequestRejected, 1));
        // A child it may re-privilege (Mutable) cannot be made trusted either.
        var spawned = spawner.Ask($"spawn child {Trap.MaskAll} {PrivilegeBlock.Mutable} - - puppet");
        Assert.Equal("OK", Result(spawned));
        int child = (int)Puppet.LongField(spawned, 2);
        Assert.Equal("r EPERM", spawner.Ask($"privctl {child} {Trap.MaskAll} {flag | PrivilegeBlock.Mutable} -"));
        Assert.Equal("r OK", spawner.Ask($"privctl {child} {Trap.MaskAll} {PrivilegeBlock.Mutable} -"));
        // A trusted process may.
        var pci = _sys.StartPuppet("pci", TestSystem.Privileges(calls: [KernelCall.Spawn], flags: PrivilegeBlock.AllTargets | flag));
        var made = pci.Ask($"spawn helper {Trap.MaskAll} {flag} - - puppet");
        Assert.Equal("OK", Result(made));
        Assert.Equal(flag, _sys.Kernel.ProcessTable().Single(p => p.Endpoint == (int)Puppet.LongField(made, 2)).Flags & flag);
    }

    [Fact]
    public void ReportDenial_ByDeviceAuthority_CountsOneInThatCategoryAgainstTheOffender()
    {
        var pci = Authority();
        var d = Driver();
        var denials = _sys.Kernel.Denials();
        Assert.Equal("OK", Result(Report(pci, (int)Denial.DeviceDmaNotAllowed, d.Endpoint)));
        AssertDenials(denials, (Denial.DeviceDmaNotAllowed, 1));
        Assert.Equal("OK", Result(Report(pci, (int)Denial.DevicePortNotAllowed, d.Endpoint)));
        Assert.Equal("OK", Result(Report(pci, (int)Denial.DeviceDmaNotAllowed, d.Endpoint)));
        AssertDenials(denials, (Denial.DeviceDmaNotAllowed, 2), (Denial.DevicePortNotAllowed, 1));
        Assert.True(_sys.Console.Has($"denied drv ({d.Endpoint}): DMA outside own buffers"), "the denial is logged against drv");
        Assert.False(_sys.Console.Has($"denied pci ({pci.Endpoint})"));
    }

    [Fact]
    public void ReportDenial_WithoutDeviceAuthority_IsEpermAndCountsOnlyTheRefusal()
    {
        var plain = _sys.StartPuppet("plain", TestSystem.Privileges(calls: [KernelCall.SysCtl], flags: PrivilegeBlock.AllTargets));
        var d = Driver();
        var denials = _sys.Kernel.Denials();
        Assert.Equal("EPERM", Result(Report(plain, (int)Denial.DeviceDmaNotAllowed, d.Endpoint)));
        AssertDenials(denials, (Denial.RequestRejected, 1));
    }

    [Fact]
    public void ReportDenial_BadCategoryIsEinval_DeadOffenderIsEsrch()
    {
        var pci = Authority();
        var d = Driver();
        int dead = d.Endpoint;
        _ = d.AskAsync("crash exit 0");
        TestSystem.WaitUntil(() => _sys.Find(dead) is null, "drv gone");
        var live = Driver("live");
        var denials = _sys.Kernel.Denials();
        Assert.Equal("EINVAL", Result(Report(pci, -1, live.Endpoint)));
        Assert.Equal("EINVAL", Result(Report(pci, DenialText.Count, live.Endpoint)));
        Assert.Equal("ESRCH", Result(Report(pci, (int)Denial.DeviceDmaNotAllowed, dead)));
        Assert.Equal("ESRCH", Result(Report(pci, (int)Denial.DeviceDmaNotAllowed, Endpoint.System))); // a kernel task is no offender
        Assert.Equal("ESRCH", Result(Report(pci, (int)Denial.DeviceDmaNotAllowed, Endpoint.Make(1, 50))));
        AssertDenials(denials);
        // The largest category is valid.
        Assert.Equal("OK", Result(Report(pci, DenialText.Count - 1, live.Endpoint)));
        AssertDenials(denials, ((Denial)(DenialText.Count - 1), 1));
    }
}
