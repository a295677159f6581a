// Interrupts (thesis §2.1.3, §3.3.2): a device model asserts an IRQ line (level-triggered,
// from any thread); the kernel thread then NOTIFYs, from HARDWARE, every driver that
// registered for the line with IRQCTL and whose hook is enabled, with the hook's bit set in
// the notification's Interrupts. The hook is then masked until the driver re-enables it after
// handling the device (MINIX IRQ_REENABLE); a line still asserted at that moment interrupts
// again, and so does a line already asserted when a hook is set on it (its edge came while
// nobody listened). Hooks are bounded (MaxHooksPerProc) and die with their owner.
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Irq;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    public const int IrqLines = 64;
    private const int MaxHooksPerProc = 8;

    private sealed class IrqHook(Proc owner, int line, int hookId)
    {
        public Proc Owner { get; } = owner;
        public int Line { get; } = line;
        public int HookId { get; set; } = hookId;
        public bool Enabled { get; set; } = true;
    }

    private readonly List<IrqHook> _hooks = [];
    private readonly int[] _irqLevel = new int[IrqLines];
    private int _irqPending;

    /// <summary>The line a device model drives (wired when the machine is built).</summary>
    public IIrqLine IrqLine(int line) =>
        line is >= 0 and < IrqLines ? new KernelIrqLine(this, line) : throw new ArgumentOutOfRangeException(nameof(line));

    private sealed class KernelIrqLine(Kernel kernel, int line) : IIrqLine
    {
        public int Number => line;

        public void Set(bool asserted)
        {
            int old = Interlocked.Exchange(ref kernel._irqLevel[line], asserted ? 1 : 0);
            if (asserted && old == 0)
            {
                Volatile.Write(ref kernel._irqPending, 1);
                Native.WriteEventfd(kernel._wakefd);
            }
        }
    }

    private void ServiceInterrupts()
    {
        foreach (var h in _hooks)
            if (h.Enabled && Volatile.Read(ref _irqLevel[h.Line]) != 0) Interrupt(h);
    }

    private void Interrupt(IrqHook h)
    {
        h.Enabled = false;
        h.Owner.PendingIrqs |= 1UL << h.HookId;
        NotifyFrom(Endpoint.Hardware, Endpoint.Hardware, h.Owner);
    }

    private int DoIrqCtl(Proc caller, ref Message m)
    {
        var req = m.As<IrqCtlRequest>();
        if (req.Line is < 0 or >= IrqLines) return Err.EINVAL;
        var hook = _hooks.Find(h => h.Owner == caller && h.Line == req.Line);
        m = default;
        switch (req.Op)
        {
            case IrqCtlRequest.SetPolicy:
                if (!caller.Priv.IrqAllowed(req.Line)) return Refused(caller, Denial.DeviceIrqNotAllowed, Err.EPERM);
                if (req.HookId is < 0 or >= 64) return Err.EINVAL;
                if (hook is not null)
                {
                    hook.HookId = req.HookId;
                    return Err.Ok;
                }
                if (_hooks.Count(h => h.Owner == caller) >= MaxHooksPerProc) return Err.ENOSPC;
                var added = new IrqHook(caller, req.Line, req.HookId);
                _hooks.Add(added);
                // A new hook starts enabled, and the line is level-triggered: one already
                // asserted interrupts now. Its rising edge passed while nobody was hooked (a
                // driver that enables its card's interrupts before hooking the line, a frame
                // arriving in between), and no other edge comes while it stays asserted.
                if (Volatile.Read(ref _irqLevel[req.Line]) != 0) Interrupt(added);
                return Err.Ok;
            case IrqCtlRequest.RemovePolicy when hook is not null:
                _hooks.Remove(hook);
                return Err.Ok;
            case IrqCtlRequest.Enable when hook is not null:
                hook.Enabled = true;
                if (Volatile.Read(ref _irqLevel[hook.Line]) != 0) Interrupt(hook); // still asserted
                return Err.Ok;
            case IrqCtlRequest.Disable when hook is not null:
                hook.Enabled = false;
                return Err.Ok;
            default:
                return Err.EINVAL;
        }
    }

    private void RemoveIrqHooks(Proc p) => _hooks.RemoveAll(h => h.Owner == p);
}
