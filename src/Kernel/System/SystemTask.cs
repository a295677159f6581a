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

    /// <summary>The kernel-call table: each call of KernelCall's table (number and name) paired with
    /// its handler, the only place a handler is declared. A call named there without a handler
    /// here, or a handler for a number it does not name, is a broken invariant: building the
    /// table (at the first kernel call) throws.</summary>
    private KernelCallHandler?[] BuildCallTable()
    {
        (int Call, KernelCallHandler Handler)[] rows =
        [
            (KernelCall.PrivCtl, DoPrivCtl),
            (KernelCall.Kill, DoKill),
            (KernelCall.GetKsig, DoGetKsig),
            (KernelCall.Umap, DoUmap),
            (KernelCall.IrqCtl, DoIrqCtl),
            (KernelCall.DevIo, DoDevIo),
            (KernelCall.VDevIo, DoVDevIo),
            (KernelCall.SetAlarm, DoSetAlarm),
            (KernelCall.Times, DoTimes),
            (KernelCall.GetInfo, DoGetInfo),
            (KernelCall.SafeCopyFrom, DoSafeCopyFrom),
            (KernelCall.SafeCopyTo, DoSafeCopyTo),
            (KernelCall.VSafeCopy, DoVSafeCopy),
            (KernelCall.SetGrant, DoSetGrant),
            (KernelCall.SysCtl, DoSysCtl),
            (KernelCall.Spawn, DoSpawn),
            (KernelCall.MapDma, DoMapDma),
            (KernelCall.Image, DoImage),
        ];
        var t = new KernelCallHandler?[KernelCall.Count];
        foreach (var (call, handler) in rows)
        {
            if (!KernelCall.IsDefined(call) || t[call] is not null)
                throw new InvalidOperationException($"kernel-call table: a handler for {KernelCall.Name(call)} that KernelCall does not name, or a second one");
            t[call] = handler;
        }
        foreach (int call in KernelCall.All)
            if (t[call] is null) throw new InvalidOperationException($"kernel-call table: {KernelCall.Name(call)} has no handler");
        return t;
    }

    /// <summary>Whether the system task performs <paramref name="call"/> (builds and checks the table).</summary>
    internal bool HandlesKernelCall(int call) => call is >= 0 and < KernelCall.Count && Calls[call] is not null;

    private void DoKernelCall(Proc caller, Message m)
    {
        _kernelCalls++;
        int call = m.Type - KernelCall.Base;
        var handler = call is >= 0 and < KernelCall.Count ? Calls[call] : null;
        if (handler is null)
        {
            RefuseTrap(caller, Denial.InvalidKernelCall, Err.EBADREQUEST);
            return;
        }
        if (!caller.Priv.CallAllowed(call))
        {
            RefuseTrap(caller, Denial.KernelCallNotAllowed, Err.ECALLDENIED);
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
