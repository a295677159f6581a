// Device I/O isolation (thesis §3.3.2, Fig. 3.1): a driver reaches only the ports of its
// privileges with DEVIO/VDEVIO and only the IRQ lines of its policy with IRQCTL; interrupts
// arrive as NOTIFY from HARDWARE with the hook's bit, masked until the driver re-enables the
// line. Every refusal is counted in its Fig. 5.5 category.
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;

namespace Bulkhead.Kernel.Tests.Devices;

public sealed class DeviceIoTests : IDisposable
{
    private readonly ScratchDevice _dev = new();
    private readonly ScratchDevice _other = new();
    private readonly TestSystem _sys;

    public DeviceIoTests()
    {
        var io = new IoSpace();
        Assert.True(io.Register(0x300, 8, _dev));
        Assert.True(io.Register(0x400, 8, _other));
        _sys = new TestSystem(io: io);
        _dev.Irq = _sys.Kernel.IrqLine(5);
    }

    public void Dispose() => _sys.Dispose();

    private Puppet Driver(bool withIrq = true)
    {
        var p = TestSystem.Privileges(calls: [KernelCall.DevIo, KernelCall.VDevIo, KernelCall.IrqCtl], flags: PrivilegeBlock.AllTargets);
        p.AddIoRange(0x300, 8);
        if (withIrq) p.AllowIrq(5);
        return _sys.StartPuppet("drv", p);
    }

    [Fact]
    public void DevIo_OwnPorts_ReadAndWriteTheDevice()
    {
        var d = Driver();
        Assert.Equal("r OK", d.Ask("out 768 1 171"));          // 0x300 ← 0xAB
        Assert.Equal("r OK", d.Ask("out 770 2 4660"));         // 0x302 ← 0x1234
        Assert.Equal(0xAB, _dev.Regs[0]);
        Assert.Equal("r OK 171", d.Ask("in 768 1"));
        Assert.Equal("r OK 4660", d.Ask("in 770 2"));
        Assert.Equal($"r OK {0x123400AB}", d.Ask("in 768 4"));
    }

    [Fact]
    public void DevIo_PortsOutsideItsRanges_AreEpermAndCounted()
    {
        var d = Driver();
        Assert.Equal("r EPERM 0", d.Ask("in 1024 1"));        // another device's port
        Assert.Equal("r EPERM", d.Ask("out 1024 1 1"));
        Assert.Equal("r EPERM 0", d.Ask("in 775 2"));         // straddles the end of its range
        Assert.Equal("r EPERM 0", d.Ask("in 767 1"));         // just below
        Assert.Equal("r EINVAL 0", d.Ask("in 768 3"));        // no such access size
        Assert.Equal(0, _other.Writes);
        Assert.Equal(4, _sys.Kernel.Denials()[(int)Denial.DevicePortNotAllowed]);
        var nobody = _sys.StartPuppet("nobody", TestSystem.Privileges(calls: [KernelCall.DevIo], flags: PrivilegeBlock.AllTargets));
        Assert.Equal("r EPERM 0", nobody.Ask("in 768 1"));
        var nocall = _sys.StartPuppet("nocall", TestSystem.Privileges(flags: PrivilegeBlock.AllTargets));
        Assert.StartsWith("r ECALLDENIED", nocall.Ask("in 768 1"));
    }

    [Fact]
    public void VDevIo_ChecksEveryPortBeforeTouchingAny()
    {
        var d = Driver();
        Assert.Equal("r OK 1 2 3", d.Ask("vio out 1 768:1 769:2 770:3"));
        Assert.Equal("r OK 1 2 3", d.Ask("vio in 1 768 769 770"));
        Assert.Equal("r EPERM 9 7", d.Ask("vio out 1 771:9 1024:7"));
        Assert.Equal(0, _dev.Regs[3]);
        Assert.Equal(0, _other.Writes);
    }

    [Fact]
    public void IrqCtl_InterruptNotifiesFromHardwareAndStaysMaskedUntilReenabled()
    {
        var d = Driver();
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} 5 3"));
        Assert.Equal("r OK", d.Ask("out 775 1 1"));            // the device asserts its line
        var n = d.Ask("recv HARDWARE");
        Assert.StartsWith($"r OK {Endpoint.Hardware} {NotifyPayload.MessageType} ", n);
        Assert.Equal(1L << 3, Puppet.LongField(n, 5));         // Interrupts: hook bit 3
        // Masked: the line is still asserted but no second notification comes.
        Assert.Equal("r OK", d.Ask($"notify {d.Endpoint}"));
        Assert.StartsWith($"r OK {d.Endpoint} {NotifyPayload.MessageType}", d.Ask("recv ANY"));
        // Re-enabling with the line still asserted interrupts again; after the device is
        // quiet, re-enabling does not.
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.Enable} 5"));
        Assert.StartsWith($"r OK {Endpoint.Hardware}", d.Ask("recv HARDWARE"));
        Assert.Equal("r OK", d.Ask("out 775 1 0"));
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.Enable} 5"));
        Assert.Equal("r OK", d.Ask($"notify {d.Endpoint}"));
        Assert.StartsWith($"r OK {d.Endpoint} {NotifyPayload.MessageType}", d.Ask("recv ANY"));
    }

    [Fact]
    public void IrqCtl_LineNotInPolicy_IsEpermAndCounted()
    {
        var d = Driver(withIrq: false);
        Assert.Equal("r EPERM", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} 5 0"));
        Assert.Equal("r EINVAL", d.Ask($"irqctl {IrqCtlRequest.Enable} 5"));
        Assert.Equal("r EINVAL", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} 99 0"));
        Assert.Equal(1, _sys.Kernel.Denials()[(int)Denial.DeviceIrqNotAllowed]);
    }

    [Fact]
    public void IrqHooks_DieWithTheirOwner()
    {
        var d = Driver();
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} 5 1"));
        _ = d.AskAsync("crash exit 0");
        TestSystem.WaitUntil(() => _sys.Find(d.Endpoint) is null, "driver gone");
        _dev.Irq!.Set(true); // nobody is told, nothing breaks
        var d2 = Driver();
        Assert.Equal("r OK", d2.Ask($"irqctl {IrqCtlRequest.SetPolicy} 5 2"));
        // The line is still asserted: the new hook (hooks start enabled) is interrupted at once.
        var n = d2.Ask("recv HARDWARE", 5_000);
        Assert.StartsWith($"r OK {Endpoint.Hardware}", n);
        Assert.Equal(1L << 2, Puppet.LongField(n, 5));
    }

    /// <summary>A restarted network driver enables its card's interrupts, then hooks the line.
    /// A frame arriving in between asserts the line while nobody is hooked; the line is
    /// level-triggered and stays asserted until the driver services the card, so no later
    /// edge comes. SetPolicy must interrupt at once, or the driver waits for ever (docs/inet.md,
    /// the driver restart that left INET and the new instance both idle).</summary>
    [Fact]
    public void IrqCtl_SetPolicyOnALineAlreadyAsserted_InterruptsAtOnce()
    {
        var d = Driver();
        Assert.Equal("r OK", d.Ask("out 775 1 1"));            // asserted before any hook: nobody told
        Assert.Equal("r OK", d.Ask($"notify {d.Endpoint}"));
        Assert.StartsWith($"r OK {d.Endpoint} {NotifyPayload.MessageType}", d.Ask("recv ANY")); // no HARDWARE pending
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.SetPolicy} 5 4"));
        var n = d.Ask("recv HARDWARE", 5_000);
        Assert.StartsWith($"r OK {Endpoint.Hardware} {NotifyPayload.MessageType} ", n);
        Assert.Equal(1L << 4, Puppet.LongField(n, 5));
        // Masked until re-enabled, as after any interrupt; a quiet line stays quiet.
        Assert.Equal("r OK", d.Ask("out 775 1 0"));
        Assert.Equal("r OK", d.Ask($"irqctl {IrqCtlRequest.Enable} 5"));
        Assert.Equal("r OK", d.Ask($"notify {d.Endpoint}"));
        Assert.StartsWith($"r OK {d.Endpoint} {NotifyPayload.MessageType}", d.Ask("recv ANY"));
    }
}
