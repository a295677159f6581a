// INET, the network server process (thesis §4.3.1, Fig. 4.6(a); docs/inet.md "The server"):
// one NetEngine driven by one ServerLoop thread, one DriverPort per interface of inet.conf.
// Start-up: the configuration arrives as one argument word (ConfigArgument: INET runs in the
// bare file view and cannot open etc/inet.conf); the interfaces are added to the engine down,
// with a placeholder MAC, until their drivers answer Conf. INET subscribes in DS to
// drv.net.<label> (a driver publishes it once initialized) and to the LABEL entries of its
// drivers (RS republishes a label when it replaces the driver): a label that moves to another
// endpoint takes the interface down, a drv.net.<label> published by a new endpoint attaches it
// (Conf, InterfaceReset, Read reposted, pending writes resent). Nothing of this is visible to
// the engine's sockets but a short outage that TCP repairs.
// Events: a driver's answer (m_type ≤ 0, ServerLoop.OnAnswer) → its DriverPort; CLOCK → the
// engine's Advance and the ports' answer deadlines; DS → the subscription changes; RS's
// heartbeats are answered by the loop. After each event one alarm is armed for the earliest of
// the engine's NextDeadline and the ports' deadlines (SETALARM, relative; only when it moves
// earlier: an early alarm re-arms itself).
// What it offers: ICMP echo on every address, a UDP echo service on port 7 (RFC 862), and the
// socket calls of programs (SocketCalls; Lib/Net/InetCall.cs), which user programs reach
// through the policy's `ipc targets USERS`.
// Rules: nothing from a driver is trusted (DriverPort); answers from anyone who is not an
// attached driver are counted and dropped; INET never blocks on a driver (SENDA only), only on
// DS and the kernel, which are trusted.
using System.Text.RegularExpressions;
using Bulkhead.Lib.Config;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;
using Bulkhead.Servers.Inet.Config;
using Bulkhead.Servers.Inet.Udp;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Server;

public sealed class InetServer : ISocketObserver
{
    /// <summary>The UDP echo port (RFC 862).</summary>
    public const ushort EchoPort = 7;
    /// <summary>DS changes taken per notification (DS queues at most 512 per subscriber).</summary>
    private const int MaxChangesPerNotify = 64;

    private readonly InetConfig _config;
    private readonly NetEngine _engine;
    private readonly DriverPort[] _ports;
    private readonly SocketCalls _calls;
    private UdpSocket? _echo;
    private bool _echoReadable;
    private long _armed = long.MaxValue;
    private long _strayAnswers;

    private InetServer(InetConfig config)
    {
        _config = config;
        _engine = new NetEngine(Environment.ProcessId ^ (int)InetClock.NowUs, this);
        _ports = new DriverPort[config.Interfaces.Count];
        for (int i = 0; i < _ports.Length; i++) _ports[i] = new DriverPort(_engine, config.Interfaces[i], i);
        _calls = new SocketCalls(_engine, Status);
    }

    /// <summary>The interfaces and their drivers, for Stats.</summary>
    private string Status() =>
        string.Concat(_ports.Select(p => $"interface {p.Name} {_config.Interfaces[p.Index].Address}/{_config.Interfaces[p.Index].Netmask.PrefixLength} driver {p.Label} endpoint {p.Endpoint} {p.State}\n"));

    public static int Run(string[] args)
    {
        ServiceRuntime.Start();
        if (!ConfigArgument.TryDecode(args.Skip(1), out string name, out string text, out string error))
        {
            SysCall.Diag("inet: " + error);
            return 1;
        }
        InetConfig config;
        try { config = InetConfig.Parse(text, name); }
        catch (InetConfigException e)
        {
            SysCall.Diag("inet: " + e.Message);
            return 1;
        }
        if (config.Interfaces.Count == 0)
        {
            SysCall.Diag($"inet: {name}: no interface");
            return 1;
        }
        return new InetServer(config).Serve();
    }

    private int Serve()
    {
        try
        {
            // Placeholder MACs (locally administered) until each driver answers Conf.
            var index = _ports.ToDictionary(p => p.Name, p => p.Index);
            _config.Apply(_engine, i => (_ports[index[i.Name]], new MacAddress(0x02_00_00_00_00_01UL + (ulong)index[i.Name])));
        }
        catch (Exception e) when (e is InetConfigException or ArgumentException or InvalidOperationException)
        {
            SysCall.Diag("inet: " + e.Message);
            return 1;
        }
        foreach (var p in _ports) _engine.InterfaceDown(p.Index);
        _echo = _engine.UdpBind(Ip4Address.Any, EchoPort, out var ue);
        if (_echo is null) SysCall.Diag($"inet: no UDP echo port: {ue}");

        string labels = string.Join('|', _ports.Select(p => Regex.Escape(p.Label)).Distinct());
        int r = DsClient.Subscribe($@"drv\.net\.(?:{labels})|{labels}", DsFlags.Initial);
        if (r != Err.Ok)
        {
            SysCall.Diag($"inet: cannot subscribe in DS: {Err.Name(r)}");
            return 1;
        }
        SysCall.Diag($"inet: up: {string.Join(", ", _config.Interfaces.Select(i => $"{i.Name} {i.Address}/{i.Netmask.PrefixLength} on {i.Driver}"))}; UDP echo on port {EchoPort}");
        ServiceRuntime.InitDone();
        TakeDsChanges();
        AfterEvent();

        var loop = new ServerLoop
        {
            NonBlockingReplies = true, // never block on a client (§3.3.4)
            BoundGarbage = true,       // memory stays level under any traffic (HeapBound)
            OnNotify = OnNotify,
            OnAnswer = OnAnswer,
        };
        _calls.Register(loop, AfterEvent);
        r = loop.Run();
        SysCall.Diag($"inet: receive failed: {Err.Name(r)}");
        return 1;
    }

    private void OnNotify(Message m)
    {
        if (m.Source == Endpoint.Clock)
        {
            _armed = long.MaxValue;
            _engine.Advance(InetClock.NowUs);
        }
        else if (m.Source == Endpoint.Ds)
        {
            TakeDsChanges();
        }
        AfterEvent();
    }

    private void OnAnswer(Message m)
    {
        var port = _ports.FirstOrDefault(p => p.Endpoint == m.Source && p.State is PortState.Configuring or PortState.Up);
        if (port is null) _strayAnswers++;
        else port.OnAnswer(m, InetClock.NowUs);
        AfterEvent();
    }

    /// <summary>Applies the queued DS changes of INET's subscription.</summary>
    private void TakeDsChanges()
    {
        for (int n = 0; n < MaxChangesPerNotify; n++)
        {
            int r = DsClient.Check(out string key, out _, out int owner);
            if (r == Err.ENOENT) return;
            if (r != Err.Ok)
            {
                SysCall.Diag($"inet: DS check failed: {Err.Name(r)}");
                return;
            }
            foreach (var p in _ports)
            {
                if (key == "drv.net." + p.Label)
                {
                    // Published by the driver once it is initialized (NetDriver): the owner is
                    // the endpoint that now serves the label. Deleted (service down): gone.
                    bool present = DsClient.RetrieveU32(key, out _) == Err.Ok;
                    if (!present) p.Detach();
                    else if (owner != Endpoint.None && (owner != p.Endpoint || p.State == PortState.Absent))
                        p.Attach(owner, InetClock.NowUs);
                }
                else if (key == p.Label)
                {
                    // RS republished the label: a new instance is on its way (or the service is down).
                    int lr = DsClient.RetrieveLabel(p.Label, out int ep);
                    if (p.State != PortState.Absent && (lr != Err.Ok || ep != p.Endpoint)) p.Detach();
                }
            }
        }
    }

    /// <summary>Work that must not run inside engine calls, then the alarm.</summary>
    private void AfterEvent()
    {
        long now = InetClock.NowUs;
        if (_echoReadable && _echo is not null)
        {
            _echoReadable = false;
            while (_echo.ReceiveFrom() is { } d) _echo.SendTo(d.Source, d.SourcePort, d.Payload);
        }
        long next = _engine.NextDeadline;
        foreach (var p in _ports) next = Math.Min(next, p.Tick(now));
        next = Math.Min(next, _calls.Tick(now));
        if (next == long.MaxValue || next >= _armed) return;
        long delayNs = Math.Max(next - now, 1) * 1000;
        if (SysCall.SetAlarm(delayNs, absolute: false, out _) == Err.Ok) _armed = next;
    }

    /// <summary>ISocketObserver: called inside engine calls; only notes the work.</summary>
    public void ReadinessChanged(NetSocket socket)
    {
        if (ReferenceEquals(socket, _echo)) _echoReadable = true;
        else _calls.Changed(socket);
    }
}
