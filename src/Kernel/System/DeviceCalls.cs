// Device I/O kernel calls (thesis §3.3.2, Fig. 3.3): DEVIO and VDEVIO perform port accesses
// on the machine model for a driver, but only inside the port ranges of its privileges
// (policy `isa io`, or the BARs the PCI-bus driver assigned); everything else is refused with
// EPERM and counted as "device port not allowed". VDEVIO checks every port of the vector
// before performing any. A port is checked as a whole range [port, port+size) inside the 16-bit
// port space first, so a huge port number cannot wrap `port + size` past a range's end.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private int DoDevIo(Proc caller, ref Message m)
    {
        var req = m.As<DevIoRequest>();
        if (req.Size is not (1 or 2 or 4) || req.Direction is not (DevIoRequest.Read or DevIoRequest.Write)) return Err.EINVAL;
        if (!PortsAllowed(caller, req.Port, req.Size)) return Refused(caller, Denial.DevicePortNotAllowed, Err.EPERM);
        if (_opt.Io is not { } io) return Err.ENODEV;
        if (req.Direction == DevIoRequest.Write)
        {
            io.Write(req.Port, req.Size, req.Value);
        }
        else
        {
            req.Value = io.Read(req.Port, req.Size);
        }
        m = Message.Of(0, req);
        return Err.Ok;
    }

    private int DoVDevIo(Proc caller, ref Message m)
    {
        var req = m.As<VDevIoRequest>();
        if (req.Size is not (1 or 2 or 4) || req.Direction is not (DevIoRequest.Read or DevIoRequest.Write)) return Err.EINVAL;
        if (req.Count is < 1 or > VDevIoRequest.MaxEntries) return Err.EINVAL;
        int bytes = req.Count * Marshal.SizeOf<PortValue>();
        if (!caller.Arena!.TrySlice(req.Offset, bytes, out var span)) return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        var entries = MemoryMarshal.Cast<byte, PortValue>(span).ToArray(); // one copy, then ours
        foreach (var e in entries)
            if (!PortsAllowed(caller, e.Port, req.Size)) return Refused(caller, Denial.DevicePortNotAllowed, Err.EPERM);
        if (_opt.Io is not { } io) return Err.ENODEV;
        for (int i = 0; i < entries.Length; i++)
        {
            if (req.Direction == DevIoRequest.Write) io.Write(entries[i].Port, req.Size, entries[i].Value);
            else entries[i].Value = io.Read(entries[i].Port, req.Size);
        }
        if (req.Direction == DevIoRequest.Read) MemoryMarshal.AsBytes(entries.AsSpan()).CopyTo(span);
        m = default;
        return Err.Ok;
    }

    /// <summary>[port, port+size) lies in the port space and in one of the caller's ranges.</summary>
    private static bool PortsAllowed(Proc caller, int port, int size) =>
        port >= 0 && port <= IoPortLimit - size && caller.Priv.PortsAllowed(port, size);

    private const int IoPortLimit = 0x10000;
}
