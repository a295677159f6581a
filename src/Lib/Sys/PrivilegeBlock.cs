// A process's privileges as a caller hands them to SPAWN or PRIVCTL: trap mask, kernel-call
// mask, flags and the IPC targets. Sent in the caller's arena (it is larger than a message)
// and copied by the kernel before use. Default is no privilege at all.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Bulkhead.Lib.Sys;

[StructLayout(LayoutKind.Sequential)]
public struct PrivilegeBlock
{
    public const int MaxTargets = 64;
    /// <summary>I/O port ranges (MINIX allows 64; a device driver needs one or two).</summary>
    public const int MaxIoRanges = 16;

    /// <summary>May send to every process (and, symmetrically, be answered by all).</summary>
    public const uint AllTargets = 1;
    /// <summary>A system process: its exits are reported and its CPU use is watched.</summary>
    public const uint SysProc = 2;
    /// <summary>Its parent may change its privileges later with PRIVCTL.</summary>
    public const uint Mutable = 4;
    /// <summary>A trusted driver of the TCB (PCI-bus, IOMMU): may add I/O ports and IRQ lines to
    /// other processes with PRIVCTL and report the denials it makes with SYSCTL.</summary>
    public const uint DeviceAuthority = 8;
    /// <summary>A user program (MINIX's USR_T): may send to every process that serves users.</summary>
    public const uint UserProgram = 16;
    /// <summary>A server that user programs may call (policy `ipc targets USERS`): every
    /// UserProgram may send to it, and it may answer them (the send mask is symmetric).</summary>
    public const uint ServesUsers = 32;

    public uint TrapMask;
    public uint Flags;
    public ulong CallMask0;
    public ulong CallMask1;
    public int TargetCount;
    public int IoRangeCount;
    public TargetList Targets;
    /// <summary>Port ranges, each (base &lt;&lt; 16) | length; DEVIO/VDEVIO may touch only these.</summary>
    public IoRangeList IoRanges;
    /// <summary>IRQ lines 0..63 this process may register with IRQCTL.</summary>
    public ulong IrqMask;

    public bool AddIoRange(int @base, int length)
    {
        if (IoRangeCount >= MaxIoRanges || @base < 0 || length <= 0 || @base + length > 0x10000 || length > 0xFFFF) return false;
        IoRanges[IoRangeCount++] = (@base << 16) | length;
        return true;
    }

    public void AllowIrq(int line)
    {
        if (line is >= 0 and < 64) IrqMask |= 1UL << line;
    }

    public void AllowCall(int call)
    {
        if (call is < 0 or >= KernelCall.Count) throw new ArgumentOutOfRangeException(nameof(call));
        if (call < 64) CallMask0 |= 1UL << call;
        else CallMask1 |= 1UL << (call - 64);
    }

    public readonly bool CallAllowed(int call) => call switch
    {
        < 0 or >= KernelCall.Count => false,
        < 64 => (CallMask0 & (1UL << call)) != 0,
        _ => (CallMask1 & (1UL << (call - 64))) != 0,
    };

    public bool AddTarget(int endpoint)
    {
        if (TargetCount >= MaxTargets) return false;
        Targets[TargetCount++] = endpoint;
        return true;
    }
}

[InlineArray(PrivilegeBlock.MaxTargets)]
public struct TargetList
{
    private int _e0;
}

[InlineArray(PrivilegeBlock.MaxIoRanges)]
public struct IoRangeList
{
    private int _e0;
}
