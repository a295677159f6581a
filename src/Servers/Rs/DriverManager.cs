// RS, the driver manager (thesis §2.2, chapter 4, Figs. 2.5, 4.1, 4.2). It starts every
// service through PM under the least-authority policy of its drivers.conf entry, publishes
// label → endpoint in DS before the service's first IPC, and watches each instance: exits and their causes (reported by PM,
// with the dying component's own last words), heartbeats, complaints from authorized
// components, and explicit requests. A failed service is restarted with binary exponential
// backoff, or handed to its recovery script; a service that keeps failing is marked failed.
//
// The loop is the shared ServerLoop (as PM's and DS's), with a handler per request family:
// any message from a service's endpoint counts as a sign of life (OnReceive); NOTIFY from PM
// means exits to collect, NOTIFY from CLOCK is the tick that drives heartbeats, deadlines and
// scheduled restarts; answers to RS's own SENDA requests (m_type ≤ 0) are never answered: DS's
// go to DsOutbox, the bus drivers' refusals are logged (OnAnswer). Requests from the service
// utility and complaints are answered with SENDNB (RS never blocks on a client), through one
// result type (RsResult → Answer); reports from services (InitDone, Alive, StateSaved,
// CrashReport) get no answer; refusals with EPERM count in the kernel's denial table.
// Files: DriverManager.cs (loop), DriverManager.Requests.cs, DriverManager.Reports.cs,
// DriverManager.Lifecycle.cs (starting and watching instances), DriverManager.Transitions.cs
// (the state machine's moves), DriverManager.Hold.cs (a new instance held until its label and
// PCI ACL are in place).
using System.Diagnostics;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pci;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;
using Bulkhead.Servers.Rs.Policy;

namespace Bulkhead.Servers.Rs;

public sealed partial class DriverManager
{
    public const int MaxServices = 64;

    private readonly RsOptions _opt;
    private readonly Dictionary<string, Service> _services = new(StringComparer.Ordinal);
    private readonly DeviceClaims _claims = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly PolicySet _policies;
    private readonly DsOutbox _ds;

    public DriverManager(RsOptions options)
    {
        _opt = options;
        _policies = LoadPolicies(options.PolicyFile);
        _ds = new DsOutbox(Log);
    }

    private long Now => _clock.ElapsedMilliseconds;

    public static int Run(string[] args)
    {
        RsOptions opt;
        try { opt = RsOptions.Parse(args); }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            SysCall.Diag(e.Message);
            return 2;
        }
        return new DriverManager(opt).Loop();
    }

    private static PolicySet LoadPolicies(string file)
    {
        if (file.Length == 0) return PolicySet.Parse("", "(none)");
        try { return PolicySet.Load(file); }
        catch (Exception e) when (e is PolicyException or IOException or UnauthorizedAccessException)
        {
            SysCall.Diag($"cannot load policies: {e.Message}");
            return PolicySet.Parse("", file);
        }
    }

    private void Log(string text) => SysCall.Diag(text);

    private int Loop()
    {
        Log($"driver manager up, {_policies.Count} policies from {_policies.File}");
        AdoptBootProcesses();
        ProbeHold();
        SysCall.SetAlarm(_opt.TickMs * 1_000_000, false, out _);
        var loop = new ServerLoop { NonBlockingReplies = true, CountRefusals = true, OnReceive = SignOfLife, OnAnswer = OnAnswer, OnNotify = OnNotify, OnUnknown = Unknown }
            .On(RsCall.Up, Answer(DoUp))
            .On(RsCall.Down, Answer(DoDown))
            .On(RsCall.Refresh, Answer(DoRefresh))
            .On(RsCall.Restart, Answer(DoRestart))
            .On(RsCall.Update, Answer(DoUpdate))
            .On(RsCall.List, Answer(DoList))
            .On(RsCall.Complain, AnswerComplaint(DoComplain))
            .On(RsCall.InitDone, DoInitDone)
            .On(RsCall.Alive, DoAlive)
            .On(RsCall.StateSaved, DoStateSaved)
            .On(RsCall.CrashReport, DoCrashReport);
        while (true)
        {
            int r = loop.Run(); // returns only when a RECEIVE fails
            Log($"receive failed: {Err.Name(r)}");
        }
    }

    private void SignOfLife(Message m)
    {
        if (ServiceAt(m.Source) is { } from) from.LastAlive = Now;
    }

    /// <summary>An answer to one of RS's own requests (requests have positive types).</summary>
    private void OnAnswer(Message m)
    {
        if (m.Source == Endpoint.Ds) _ds.OnAnswer(m, Now);
        else if (m.Type != Err.Ok && m.Source is Endpoint.Pci or Endpoint.Iommu)
            Log($"{(m.Source == Endpoint.Pci ? "the PCI-bus" : "the IOMMU")} driver refused a request: {Err.Name(m.Type)}");
        if (m.Source == Endpoint.Pci && ServiceAt(m.As<PciAclRequest>().Endpoint) is { AclAwaited: > 0 } s) s.AclAwaited--;
        if (m.Source is Endpoint.Ds or Endpoint.Pci) ReleaseReady();
    }

    private void OnNotify(Message m)
    {
        if (m.Source == Endpoint.Pm) CollectExits();
        else if (m.Source == Endpoint.Clock)
        {
            Tick();
            SysCall.SetAlarm(_opt.TickMs * 1_000_000, false, out _);
        }
    }

    /// <summary>A request that carries its text in a granted buffer (BufferRequest): the handler
    /// decides, and the reply says how — a refusal's explanation is written back into the
    /// caller's buffer, its length in the reply.</summary>
    private RequestHandler Answer(Func<int, BufferRequest, RsResult> handler) => (ref Message m) =>
    {
        int caller = m.Source;
        var req = m.As<BufferRequest>();
        var result = handler(caller, req);
        int length = result.Why.Length > 0 ? WriteBack(caller, req, result.Why) : result.Written;
        m = Message.Of(0, new RsReply { Endpoint = result.Endpoint, Length = length });
        return result.Code;
    };

    /// <summary>A complaint (ComplainRequest) carries no buffer: the reply is the code alone.</summary>
    private static RequestHandler AnswerComplaint(Func<int, ComplainRequest, RsResult> handler) => (ref Message m) =>
    {
        var result = handler(m.Source, m.As<ComplainRequest>());
        m = Message.Of(0, new RsReply { Endpoint = result.Endpoint });
        return result.Code;
    };

    private static int Unknown(ref Message m)
    {
        m = Message.Of(0, new RsReply { Endpoint = Endpoint.None });
        return Err.ENOSYS;
    }

    /// <summary>Requests that found RS's SENDA table full (a stopped bus driver leaves its
    /// entries there): sent again at every tick, in order, before anything newer to the same server.</summary>
    private readonly Queue<(int Server, Message Request, string What)> _untold = new();
    private const int MaxUntold = 4 * MaxServices;

    /// <summary>A request to a bus driver (or a service), sent with SENDA: RS never waits for a
    /// server it watches (a stopped PCI-bus driver must not stop RS). The answer arrives as a
    /// message and is only logged when it is a refusal. A full SENDA table queues the request
    /// (bounded, MaxUntold) for the next tick; requests to one server keep their order. False
    /// (logged) only when it is lost: the destination is gone, or the queue is full.</summary>
    private bool Tell(int server, in Message m, string what)
    {
        bool queuedBefore = false;
        foreach (var u in _untold) queuedBefore |= u.Server == server;
        int r = queuedBefore ? Err.EAGAIN : AsyncSender.Send(server, m);
        if (r == Err.Ok) return true;
        if (r == Err.EAGAIN && _untold.Count < MaxUntold)
        {
            _untold.Enqueue((server, m, what));
            return true;
        }
        Log($"cannot send {what}: {Err.Name(r)}");
        return false;
    }

    /// <summary>Sends what Tell had to queue, oldest first, until the table is full again.</summary>
    private void TellQueued()
    {
        var blocked = new HashSet<int>();
        for (int n = _untold.Count; n > 0; n--)
        {
            var u = _untold.Dequeue();
            int r = blocked.Contains(u.Server) ? Err.EAGAIN : AsyncSender.Send(u.Server, u.Request);
            if (r == Err.EAGAIN)
            {
                blocked.Add(u.Server); // keeps the order of what follows for that server
                _untold.Enqueue(u);
            }
            else if (r != Err.Ok) Log($"cannot send {u.What}: {Err.Name(r)}");
        }
    }

    private Service? ServiceAt(int endpoint)
    {
        if (endpoint == Endpoint.None) return null;
        foreach (var s in _services.Values)
            if (s.Endpoint == endpoint) return s;
        return null;
    }

    /// <summary>Endpoint of a label for IPC targets: fixed servers, then running services.</summary>
    private int? EndpointOf(string label)
    {
        if (PolicyTargets.FixedEndpoint(label) is int fixedEp) return fixedEp;
        return _services.TryGetValue(label, out var s) && s.HasInstance ? s.Endpoint : null;
    }
}
