// Payloads of the device kernel calls (thesis §3.3.2, Fig. 3.3): DEVIO (one port access),
// VDEVIO (a vector of accesses from the caller's arena) and IRQCTL (interrupt policy).
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Sys;

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct DevIoRequest
{
    public const int Read = 0;
    public const int Write = 1;

    public int Port;
    /// <summary>1, 2 or 4 bytes.</summary>
    public int Size;
    public int Direction;
    /// <summary>Value to write; on a read, the reply carries the value read here.</summary>
    public uint Value;
}

/// <summary>One access of a VDEVIO vector: a port and a value (written, or read back into it).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PortValue
{
    public int Port;
    public uint Value;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct VDevIoRequest
{
    public const int MaxEntries = 64;

    /// <summary>Offset of Count PortValue entries in the caller's arena.</summary>
    public long Offset;
    public int Count;
    public int Size;
    public int Direction;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct IrqCtlRequest
{
    /// <summary>Register for interrupts on Line; they arrive as NOTIFY from HARDWARE with bit
    /// HookId set in the notification's Interrupts, and the line stays masked for this process
    /// until it calls Enable (MINIX IRQ_REENABLE).</summary>
    public const int SetPolicy = 1;
    public const int RemovePolicy = 2;
    public const int Enable = 3;
    public const int Disable = 4;

    public int Op;
    public int Line;
    /// <summary>Bit (0..63) that identifies this line in the notification's Interrupts.</summary>
    public int HookId;
}
