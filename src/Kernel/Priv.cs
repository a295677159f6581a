// A process's privileges inside the kernel (MINIX struct priv, thesis §2.3.1): allowed IPC
// primitives, kernel calls, flags and the send mask. The send mask is symmetric: A may send
// to B when either side lists the other (or either may send to all), so a server can always
// answer a client it was allowed to hear from. Default: nothing.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

internal sealed class Priv
{
    public uint TrapMask;
    public uint Flags;
    public ulong Call0;
    public ulong Call1;
    /// <summary>Bitmap over process slots this process may send to.</summary>
    public readonly ulong[] SendTo;
    /// <summary>Port ranges as (base, length) from the installed block.</summary>
    public readonly List<(int Base, int Length)> IoRanges = [];
    public ulong IrqMask;
    /// <summary>Ports and IRQ lines a trusted bus driver added (PRIVCTL AddIo/AddIrq): they belong
    /// to the device the process reserved and survive a new block being installed; only the
    /// process's end clears them. Together with IoRanges at most PrivilegeBlock.MaxIoRanges.</summary>
    public readonly List<(int Base, int Length)> GrantedIo = [];
    public ulong GrantedIrqs;

    public int IoRangeCount => IoRanges.Count + GrantedIo.Count;

    public bool IrqAllowed(int line) => line is >= 0 and < 64 && ((IrqMask | GrantedIrqs) & (1UL << line)) != 0;

    /// <summary>May this process touch ports [port, port + size)?</summary>
    public bool PortsAllowed(int port, int size)
    {
        foreach (var (b, len) in IoRanges)
            if (port >= b && port + size <= b + len) return true;
        foreach (var (b, len) in GrantedIo)
            if (port >= b && port + size <= b + len) return true;
        return false;
    }

    public Priv(int slots) => SendTo = new ulong[(slots + 63) / 64];

    public bool AllTargets => (Flags & PrivilegeBlock.AllTargets) != 0;

    public bool Has(uint flag) => (Flags & flag) != 0;

    public bool TrapAllowed(int trap) => (TrapMask & Trap.Bit(trap)) != 0;

    public bool CallAllowed(int call) => call switch
    {
        < 0 or >= KernelCall.Count => false,
        < 64 => (Call0 & (1UL << call)) != 0,
        _ => (Call1 & (1UL << (call - 64))) != 0,
    };

    public bool Lists(int slot) => slot >= 0 && slot < SendTo.Length * 64 && (SendTo[slot >> 6] & (1UL << (slot & 63))) != 0;

    public void Allow(int slot)
    {
        if (slot >= 0 && slot < SendTo.Length * 64) SendTo[slot >> 6] |= 1UL << (slot & 63);
    }

    public void Forget(int slot)
    {
        if (slot >= 0 && slot < SendTo.Length * 64) SendTo[slot >> 6] &= ~(1UL << (slot & 63));
    }

    /// <summary>No privilege at all (the process is gone).</summary>
    public void Clear()
    {
        ClearInstalled();
        GrantedIo.Clear();
        GrantedIrqs = 0;
    }

    private void ClearInstalled()
    {
        TrapMask = 0;
        Flags = 0;
        Call0 = Call1 = 0;
        Array.Clear(SendTo);
        IoRanges.Clear();
        IrqMask = 0;
    }

    /// <summary>Installs a caller-supplied block (already copied out of its arena). A target
    /// counts only if <paramref name="isTarget"/> accepts its endpoint (it names the slot's
    /// current process, or the first process a fixed slot will get), so a stale endpoint never
    /// grants access to its slot's next occupant. Kernel tasks are reached by kernel calls.</summary>
    public void Install(in PrivilegeBlock b, int slotCount, Func<int, bool> isTarget)
    {
        ClearInstalled();
        TrapMask = b.TrapMask & Trap.MaskAll;
        Flags = b.Flags;
        Call0 = b.CallMask0;
        Call1 = b.CallMask1;
        IrqMask = b.IrqMask;
        for (int i = 0; i < Math.Clamp(b.IoRangeCount, 0, PrivilegeBlock.MaxIoRanges); i++)
        {
            int packed = b.IoRanges[i];
            int @base = (packed >> 16) & 0xFFFF, length = packed & 0xFFFF;
            if (length > 0 && @base + length <= 0x10000) IoRanges.Add((@base, length));
        }
        int n = Math.Clamp(b.TargetCount, 0, PrivilegeBlock.MaxTargets);
        for (int i = 0; i < n; i++)
        {
            int slot = Endpoint.Slot(b.Targets[i]);
            if (slot >= 0 && slot < slotCount && isTarget(b.Targets[i])) Allow(slot);
        }
    }
}
