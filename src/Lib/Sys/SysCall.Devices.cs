// Kernel-call stubs for device drivers: port I/O and interrupt control.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Sys;

public static partial class SysCall
{
    public static int InPort(int port, int size, out uint value)
    {
        var m = Message.Of(0, new DevIoRequest { Port = port, Size = size, Direction = DevIoRequest.Read });
        int r = Call(KernelCall.DevIo, ref m);
        value = r == Err.Ok ? m.As<DevIoRequest>().Value : 0;
        return r;
    }

    public static int OutPort(int port, int size, uint value)
    {
        var m = Message.Of(0, new DevIoRequest { Port = port, Size = size, Direction = DevIoRequest.Write, Value = value });
        return Call(KernelCall.DevIo, ref m);
    }

    /// <summary>Performs a vector of accesses lying in the caller's arena (reads fill in the values).</summary>
    public static int VDevIo(long offset, int count, int size, int direction)
    {
        var m = Message.Of(0, new VDevIoRequest { Offset = offset, Count = count, Size = size, Direction = direction });
        return Call(KernelCall.VDevIo, ref m);
    }

    public static int IrqCtl(int op, int line, int hookId = 0)
    {
        var m = Message.Of(0, new IrqCtlRequest { Op = op, Line = line, HookId = hookId });
        return Call(KernelCall.IrqCtl, ref m);
    }
}
