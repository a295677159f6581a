// The system task (thesis §2.1.3, Fig. 3.3): a kernel call is a SENDREC to SYSTEM with
// m_type = KernelCall.Base + call. It is checked against the caller's kernel-call mask, then
// by the call's own rules, then performed; the reply carries the result in m_type and in the
// trap result. Handlers take the request payload and fill the reply payload in place.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private delegate int KernelCallHandler(Proc caller, ref Message m);

    private KernelCallHandler?[]? _calls;

    private KernelCallHandler?[] Calls => _calls ??= BuildCallTable();

    private KernelCallHandler?[] BuildCallTable()
    {
        var t = new KernelCallHandler?[KernelCall.Count];
        t[KernelCall.Spawn] = DoSpawn;
        t[KernelCall.PrivCtl] = DoPrivCtl;
        t[KernelCall.Kill] = DoKill;
        t[KernelCall.GetKsig] = DoGetKsig;
        t[KernelCall.SysCtl] = DoSysCtl;
        t[KernelCall.Times] = DoTimes;
        t[KernelCall.SetAlarm] = DoSetAlarm;
        t[KernelCall.GetInfo] = DoGetInfo;
        t[KernelCall.DevIo] = DoDevIo;
        t[KernelCall.VDevIo] = DoVDevIo;
        t[KernelCall.IrqCtl] = DoIrqCtl;
        t[KernelCall.SetGrant] = DoSetGrant;
        t[KernelCall.SafeCopyFrom] = DoSafeCopyFrom;
        t[KernelCall.SafeCopyTo] = DoSafeCopyTo;
        t[KernelCall.VSafeCopy] = DoVSafeCopy;
        t[KernelCall.MapDma] = DoMapDma;
        t[KernelCall.Umap] = DoUmap;
        t[KernelCall.Image] = DoImage;
        return t;
    }

    private void DoKernelCall(Proc caller, Message m)
    {
        _kernelCalls++;
        int call = m.Type - KernelCall.Base;
        var handler = call is >= 0 and < KernelCall.Count ? Calls[call] : null;
        if (handler is null)
        {
            Refuse(caller, Denial.InvalidKernelCall, Err.EBADREQUEST);
            return;
        }
        if (!caller.Priv.CallAllowed(call))
        {
            Refuse(caller, Denial.KernelCallNotAllowed, Err.ECALLDENIED);
            return;
        }
        int r = handler(caller, ref m);
        if (!caller.Alive || !caller.InCall) return; // e.g. a process that killed itself
        m.Source = Endpoint.System;
        m.Type = r;
        if (r == Err.Ok) CompleteWith(caller, r, m);
        else Complete(caller, r);
    }

    /// <summary>Reads a caller-arena string of at most <paramref name="max"/> bytes.</summary>
    private static bool TryReadString(Proc caller, long offset, int length, int max, out string s)
    {
        s = "";
        if (length < 0 || length > max || !caller.Arena!.TrySlice(offset, length, out var span)) return false;
        s = System.Text.Encoding.UTF8.GetString(span);
        return true;
    }
}
