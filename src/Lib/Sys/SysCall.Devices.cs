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

    /// <summary>Pins [<paramref name="offset"/>, +<paramref name="length"/>) of this process's
    /// arena (page aligned) for DMA; returns its bus address. Pinning the same region again
    /// returns the same address.</summary>
    public static int MapDma(long offset, long length, out ulong busAddress)
    {
        var m = Message.Of(0, new MapDmaRequest { Offset = offset, Length = length });
        int r = Call(KernelCall.MapDma, ref m);
        busAddress = r == Err.Ok ? m.As<MapDmaRequest>().BusAddress : 0;
        return r;
    }

    /// <summary>Checks that [<paramref name="busAddress"/>, +<paramref name="length"/>) is DMA
    /// memory <paramref name="endpoint"/> pinned; returns where it lies in that arena.</summary>
    public static int Umap(int endpoint, ulong busAddress, long length, out long arenaOffset)
    {
        var m = Message.Of(0, new UmapRequest { Endpoint = endpoint, BusAddress = busAddress, Length = length });
        int r = Call(KernelCall.Umap, ref m);
        arenaOffset = r == Err.Ok ? m.As<UmapRequest>().ArenaOffset : -1;
        return r;
    }

    /// <summary>Gives <paramref name="target"/> I/O ports [<paramref name="base"/>, +<paramref name="length"/>) (DeviceAuthority callers).</summary>
    public static int PrivCtlAddIo(int target, int @base, int length)
    {
        var m = Message.Of(0, new PrivCtlRequest { Target = target, Op = PrivCtlRequest.AddIo, Base = @base, Length = length });
        return Call(KernelCall.PrivCtl, ref m);
    }

    /// <summary>Gives <paramref name="target"/> IRQ line <paramref name="line"/> (DeviceAuthority callers).</summary>
    public static int PrivCtlAddIrq(int target, int line)
    {
        var m = Message.Of(0, new PrivCtlRequest { Target = target, Op = PrivCtlRequest.AddIrq, Base = line });
        return Call(KernelCall.PrivCtl, ref m);
    }

    /// <summary>Reports a denial this trusted driver made against <paramref name="offender"/>.</summary>
    public static int ReportDenial(Denial category, int offender)
    {
        var m = Message.Of(0, new SysCtlRequest { Op = SysCtlRequest.ReportDenial, Category = (int)category, Offender = offender });
        return Call(KernelCall.SysCtl, ref m);
    }
}
