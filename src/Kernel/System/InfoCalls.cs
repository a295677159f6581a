// Informational kernel calls: SYSCTL (diagnostic text to the console and the system log),
// TIMES (CPU time and uptime) and GETINFO (kernel info, a copy of the process table, the
// denial counters, the caller's own identity). Output goes into a caller-named buffer in its
// own arena, checked first.
using System.Runtime.InteropServices;
using System.Text;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private int DoSysCtl(Proc caller, ref Message m)
    {
        var req = m.As<SysCtlRequest>();
        if (req.Op == SysCtlRequest.ReportDenial) return ReportDenial(caller, req, ref m);
        if (req.Op != SysCtlRequest.Diag) return Err.EINVAL;
        if (req.Length is < 0 or > SysCtlRequest.MaxDiagLength || !caller.Arena!.TrySlice(req.Offset, req.Length, out var span))
            return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        var sb = new StringBuilder(span.Length);
        foreach (char c in Encoding.UTF8.GetString(span))
            sb.Append(c == '\n' || c == '\t' || !char.IsControl(c) ? c : '?');
        foreach (var line in sb.ToString().TrimEnd('\n').Split('\n'))
            Log(caller.Name, line);
        m = default;
        return Err.Ok;
    }

    /// <summary>A trusted driver (PCI-bus, IOMMU) or a core server (PM, RS, DS at their fixed
    /// endpoints) counts a denial it made, in the same table as the kernel's own; the offender
    /// must be a live process. Nobody else may, or a driver could charge others.</summary>
    private int ReportDenial(Proc caller, in SysCtlRequest req, ref Message m)
    {
        bool core = caller.Endpoint is Endpoint.Pm or Endpoint.Rs or Endpoint.Ds;
        if (!core && (caller.Priv.Flags & PrivilegeBlock.DeviceAuthority) == 0) return Refused(caller, Denial.RequestRejected, Err.EPERM);
        if (req.Category is < 0 or >= DenialText.Count) return Err.EINVAL;
        var offender = ProcOf(req.Offender);
        if (offender is null) return Err.ESRCH;
        CountDenial(offender, (Denial)req.Category);
        m = default;
        return Err.Ok;
    }

    private int DoTimes(Proc caller, ref Message m)
    {
        int t = m.As<TimesRequest>().Target;
        var target = t == Endpoint.Self ? caller : ProcOf(t);
        if (target is null) return Refused(caller, Denial.InvalidDestination, Err.EDEADSRCDST);
        m = Message.Of(0, new TimesReply
        {
            CpuNs = Math.Max(0, Native.ProcessCpuNs(target.HostPid)),
            UptimeNs = UptimeNs,
            BootTimeUnixNs = _bootUnixNs,
        });
        return Err.Ok;
    }

    private int DoGetInfo(Proc caller, ref Message m)
    {
        var req = m.As<GetInfoRequest>();
        var reply = new GetInfoReply { Endpoint = caller.Endpoint, Slot = caller.Slot, Name = ProcessName.From(caller.Name) };
        switch (req.What)
        {
            case GetInfoRequest.WhoAmI:
                break;
            case GetInfoRequest.KInfo:
                if (!WriteOut(caller, req, [KernelInfo()], ref reply)) return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
                break;
            case GetInfoRequest.ProcTab:
                var rows = new List<ProcInfo>();
                foreach (var p in _procs)
                    if (p.State != ProcState.Free) rows.Add(InfoOf(p));
                if (!WriteOut(caller, req, rows.ToArray(), ref reply)) return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
                break;
            case GetInfoRequest.Denials:
                if (!WriteOut(caller, req, DenialCounters(), ref reply)) return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
                break;
            default:
                return Err.EINVAL;
        }
        m = Message.Of(0, reply);
        return Err.Ok;
    }

    /// <summary>Copies as many whole entries as fit into the caller's buffer.</summary>
    private static bool WriteOut<T>(Proc caller, in GetInfoRequest req, T[] items, ref GetInfoReply reply) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(items.AsSpan());
        int size = bytes.Length / Math.Max(1, items.Length);
        if (req.Length < 0 || !caller.Arena!.TrySlice(req.Offset, req.Length, out var dst)) return false;
        int fit = size == 0 ? 0 : Math.Min(items.Length, dst.Length / size);
        bytes[..(fit * size)].CopyTo(dst);
        reply.Bytes = fit * size;
        reply.Entries = fit;
        return true;
    }

    private KInfo KernelInfo() => new()
    {
        ProcSlots = _procs.Length,
        LiveProcs = _procs.Count(p => p.Alive),
        BootTimeUnixNs = _bootUnixNs,
        UptimeNs = UptimeNs,
        Traps = _traps,
        KernelCalls = _kernelCalls,
        Messages = _messages,
        Notifies = _notifies,
    };

    /// <summary>Kernel counters for the host side (control socket, tests).</summary>
    public KInfo Info() => Invoke(KernelInfo);
}
