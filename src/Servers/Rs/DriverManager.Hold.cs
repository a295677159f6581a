// Isolation is complete before a driver's first IPC (thesis §3.4; §2.2, Fig. 2.5): RS has PM
// start every new instance held (SpawnRequest.Held, MINIX's RTS_NO_PRIV) — the process exists
// with its privileges, but the kernel serves none of its traps — then publishes its label in DS
// and sends its PCI ACL to the PCI-bus driver, and releases it (PRIVCTL Allow) once both have
// answered. So a driver's very first request finds its name in DS and its devices at the
// PCI-bus driver. Only what applies is waited for: the label when the system has a DS, the ACL
// when the policy names PCI devices and the system has a PCI-bus driver.
//
// RS never blocks on a server it watches, so it does not wait in a call: the requests go out
// with SENDA (DsOutbox, Tell), and each answer, arriving as a message, lets RS look for
// instances ready to go (ReleaseReady). DS answers the label request (DsOutbox.LabelPending,
// matched by the request's tag); the PCI-bus driver's answer to a SetAcl names the endpoint
// whose ACL it took (Service.AclAwaited counts those still to come). A DS or
// PCI-bus driver that does not answer (stopped, dead, restarting) must not keep a driver held:
// after hold_timeout_ms (2 s) RS releases it anyway and logs what it did not get. The init
// deadline starts at the release. A held instance that dies is a starting instance that died.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Rs;

public sealed partial class DriverManager
{
    /// <summary>RS may release held processes (it has the PRIVCTL kernel call): new instances start held.</summary>
    private bool _canHold;
    /// <summary>The system has a DS / a PCI-bus driver to wait for (present when RS started).</summary>
    private bool _hasDs = true, _hasPci = true;

    /// <summary>Finds out, once at start, whether RS can hold new instances and what it has to
    /// wait for. PRIVCTL Allow of RS itself, which is not held, answers EINVAL when RS may make
    /// the call at all.</summary>
    private void ProbeHold()
    {
        int r = SysCall.PrivCtlAllow(Endpoint.Rs);
        _canHold = r == Err.EINVAL;
        if (!_canHold)
            Log($"cannot hold new instances (PRIVCTL: {Err.Name(r)}): they start at once, and their label and PCI ACL may come after their first IPC");
        if (SysCall.ProcessTable(out var rows) != Err.Ok) return;
        _hasDs = _hasPci = false;
        foreach (var p in rows)
        {
            _hasDs |= p.Endpoint == Endpoint.Ds;
            _hasPci |= p.Endpoint == Endpoint.Pci;
        }
    }

    /// <summary>What the held instance still waits for, in words ("" when nothing).</summary>
    private string Awaited(Service s)
    {
        bool label = _hasDs && _ds.LabelPending(s.Label);
        bool acl = s.AclAwaited > 0;
        return (label, acl) switch
        {
            (true, true) => "its label in DS and its PCI ACL (neither DS nor the PCI-bus driver answered)",
            (true, false) => "its label in DS (DS did not answer)",
            (false, true) => "its PCI ACL (the PCI-bus driver did not answer)",
            _ => "",
        };
    }

    private bool AwaitsSetUp(Service s) => Awaited(s).Length > 0;

    /// <summary>Releases every held instance that has nothing left to wait for (after an answer from DS or the PCI-bus driver).</summary>
    private void ReleaseReady()
    {
        foreach (var s in _services.Values)
            if (s is { State: ServiceState.Starting, Held: true } && !AwaitsSetUp(s)) Release(s);
    }

    /// <summary>Starting, held → Starting, released: the kernel serves its IPC from now on, and
    /// the init deadline starts. Called when its set-up is complete, or at the hold time-out
    /// (then the log says what it goes without).</summary>
    private void Release(Service s)
    {
        string missing = Awaited(s);
        long now = Now;
        s.Held = false;
        s.Deadline = now + _opt.InitTimeoutMs;
        s.LastAlive = s.LastPing = now;
        int r = SysCall.PrivCtlAllow(s.Endpoint);
        if (r != Err.Ok) Log($"cannot release {s.Label} (endpoint {s.Endpoint}): {Err.Name(r)}");
        else if (missing.Length > 0) Log($"{s.Label} released after {now - s.HeldSince} ms without {missing}");
    }
}
