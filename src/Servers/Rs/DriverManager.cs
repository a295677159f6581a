// RS, the driver manager (thesis §2.2, chapter 4, Figs. 2.5, 4.1, 4.2). It starts every
// service through PM under the least-authority policy of its drivers.conf entry, publishes
// label → endpoint in DS, and watches each instance: exits and their causes (reported by PM,
// with the dying component's own last words), heartbeats, complaints from authorized
// components, and explicit requests. A failed service is restarted with binary exponential
// backoff, or handed to its recovery script; a service that keeps failing is marked failed.
//
// The loop: RECEIVE from anyone; any message from a service's endpoint counts as a sign of
// life; NOTIFY from PM means exits to collect, NOTIFY from CLOCK is the tick that drives
// heartbeats, deadlines and scheduled restarts; requests go to Do<Call> handlers. Requests
// from the service utility and complaints are answered with SENDNB (RS never blocks on a
// client); reports from services (InitDone, Alive, CrashReport) need no answer. RS's own
// requests to DS never wait for DS (DsOutbox): their answers arrive here like any message.
// Files: DriverManager.cs (loop), DriverManager.Requests.cs, DriverManager.Lifecycle.cs.
using System.Diagnostics;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
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
        SysCall.SetAlarm(_opt.TickMs * 1_000_000, false, out _);
        while (true)
        {
            int r = IpcCall.Receive(Endpoint.Any, out var m);
            if (r != Err.Ok)
            {
                Log($"receive failed: {Err.Name(r)}");
                continue;
            }
            Handle(ref m);
        }
    }

    private void Handle(ref Message m)
    {
        var from = ServiceAt(m.Source);
        if (from is not null) from.LastAlive = Now;
        if (!IpcCall.IsNotify(m) && m.Type <= Err.Ok)
        {
            // An answer to one of RS's own requests (requests have positive types): never answered.
            if (m.Source == Endpoint.Ds) _ds.OnAnswer(m, Now);
            else if (m.Type != Err.Ok && m.Source is Endpoint.Pci or Endpoint.Iommu)
                Log($"{(m.Source == Endpoint.Pci ? "the PCI-bus" : "the IOMMU")} driver refused a request: {Err.Name(m.Type)}");
            return;
        }
        if (IpcCall.IsNotify(m))
        {
            if (m.Source == Endpoint.Pm) CollectExits();
            else if (m.Source == Endpoint.Clock)
            {
                Tick();
                SysCall.SetAlarm(_opt.TickMs * 1_000_000, false, out _);
            }
            return;
        }
        Dispatch(ref m, from);
    }

    /// <summary>A request to a bus driver, sent with SENDA: RS never waits for a server it
    /// watches (a stopped PCI-bus driver must not stop RS). The answer arrives as a message and
    /// is only logged when it is a refusal.</summary>
    private void Tell(int server, in Message m, string what)
    {
        int r = AsyncSender.Send(server, m);
        if (r != Err.Ok) Log($"cannot send {what}: {Err.Name(r)}");
    }

    private void Dispatch(ref Message m, Service? from)
    {
        int caller = m.Source;
        switch (m.Type)
        {
            case RsCall.InitDone:
                if (from is not null) OnInitDone(from);
                return;
            case RsCall.Alive:
                return;
            case RsCall.StateSaved:
                if (from is { State: ServiceState.Updating, SavingState: true }) StopForUpdate(from);
                return;
            case RsCall.CrashReport:
                if (from is not null)
                {
                    var c = m.As<CrashReportPayload>();
                    from.CrashReport = (c.Kind, c.Text.ToString());
                }
                return;
        }
        string explanation = "";
        int endpoint = Endpoint.None;
        int result = m.Type switch
        {
            RsCall.Up => DoUp(caller, m.As<BufferRequest>(), out endpoint, out explanation),
            RsCall.Down => DoDown(caller, m.As<BufferRequest>(), out explanation),
            RsCall.Refresh => DoRefresh(caller, m.As<BufferRequest>(), out explanation),
            RsCall.Restart => DoRestart(caller, m.As<BufferRequest>(), out endpoint, out explanation),
            RsCall.Update => DoUpdate(caller, m.As<BufferRequest>(), out explanation),
            RsCall.List => DoList(caller, m.As<BufferRequest>(), out explanation),
            RsCall.Complain => DoComplain(caller, m.As<ComplainRequest>(), out explanation),
            _ => Err.ENOSYS,
        };
        // A refusal counts in the kernel's denial table, as the kernel's and the bus drivers' do.
        if (result == Err.EPERM) SysCall.ReportDenial(Denial.RequestRejected, caller);
        int length = 0;
        if (explanation.Length > 0 && m.Type is not (RsCall.List or RsCall.Complain))
            length = WriteBack(caller, m.As<BufferRequest>(), explanation);
        else if (m.Type == RsCall.List && result == Err.Ok)
            length = _listLength;
        var reply = Message.Of(result, new RsReply { Endpoint = endpoint, Length = length });
        IpcCall.SendNb(caller, ref reply);
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
