// The TCP/IP protocol engine of INET (thesis §4.3.1, Fig. 4.6(a); docs/inet.md): Ethernet, ARP,
// IPv4, ICMP, UDP and TCP as plain code with no IPC in it. The INET server owns one engine and
// feeds it three kinds of input: a frame arrived on interface i (FrameArrived), the time is now T
// (Advance), and socket calls from programs. Output leaves through each interface's INetLink
// (frames) and the ISocketObserver (readiness edges). NextDeadline tells the server when to call
// Advance again, so it needs one alarm.
// Rules: single-threaded and deterministic — the engine never reads a clock (time is the last
// `now` passed in, in microseconds, never going back) and draws initial sequence numbers and
// ports from a Random seeded by the caller. Nothing from a frame is trusted: every length is
// checked before it is used, a malformed frame is dropped and counted (NetStats), and no input
// makes the engine throw. Every table is bounded (NetLimits). Transmit paths build frames in
// buffers the engine owns and reuses, so a steady TCP transfer allocates nothing per packet.
using Bulkhead.Servers.Inet.Ip;
using Bulkhead.Servers.Inet.Link;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet;

public sealed partial class NetEngine
{
    private readonly List<NetInterface> _interfaces = [];
    private readonly RoutingTable _routes = new();
    private readonly Random _random;
    private long _now;

    public NetEngine(int seed, ISocketObserver? observer = null)
    {
        _random = new Random(seed);
        Observer = observer;
        _reassembler = new Reassembler(Stats);
    }

    public NetStats Stats { get; } = new();
    public ISocketObserver? Observer { get; set; }
    /// <summary>The last time passed in (µs).</summary>
    public long Now => _now;
    public IReadOnlyList<NetInterface> Interfaces => _interfaces;
    public RoutingTable Routes => _routes;

    /// <summary>Adds an interface with its connected route, up, and announces it with a gratuitous ARP.</summary>
    public NetInterface AddInterface(string name, MacAddress mac, Ip4Address address, Ip4Address netmask, INetLink link, int mtu = NetLimits.DefaultMtu)
    {
        ArgumentNullException.ThrowIfNull(link);
        if (_interfaces.Count == NetLimits.MaxInterfaces) throw new InvalidOperationException($"at most {NetLimits.MaxInterfaces} interfaces");
        if (mtu is < NetLimits.MinMtu or > NetLimits.MaxMtu) throw new ArgumentOutOfRangeException(nameof(mtu), $"MTU {mtu} not in {NetLimits.MinMtu}..{NetLimits.MaxMtu}");
        if (netmask.PrefixLength < 0) throw new ArgumentException($"netmask {netmask} is not contiguous", nameof(netmask));
        if (mac.IsGroup || mac == MacAddress.Zero) throw new ArgumentException($"MAC {mac} is not a unicast address", nameof(mac));
        if (_interfaces.Any(i => i.Name == name)) throw new ArgumentException($"interface {name} exists", nameof(name));
        var ifc = new NetInterface(_interfaces.Count, name, mac, address, netmask, mtu, link);
        _interfaces.Add(ifc);
        _routes.Add(ifc.Network, netmask, Ip4Address.Any, ifc.Index);
        SendGratuitousArp(ifc);
        return ifc;
    }

    /// <summary>Adds a route; gateway Any means on-link. A default route is 0.0.0.0/0.</summary>
    public void AddRoute(Ip4Address destination, Ip4Address netmask, Ip4Address gateway, int interfaceIndex)
    {
        if ((uint)interfaceIndex >= (uint)_interfaces.Count) throw new ArgumentOutOfRangeException(nameof(interfaceIndex));
        if (netmask.PrefixLength < 0) throw new ArgumentException($"netmask {netmask} is not contiguous", nameof(netmask));
        _routes.Add(destination, netmask, gateway, interfaceIndex);
    }

    /// <summary>Input: a frame arrived on interface <paramref name="interfaceIndex"/> at time <paramref name="now"/>.</summary>
    public void FrameArrived(int interfaceIndex, ReadOnlySpan<byte> frame, long now)
    {
        SetNow(now);
        if ((uint)interfaceIndex >= (uint)_interfaces.Count) throw new ArgumentOutOfRangeException(nameof(interfaceIndex));
        var ifc = _interfaces[interfaceIndex];
        Stats.FramesIn++;
        if (frame.Length < NetLimits.EthernetHeader)
        {
            Stats.Drop(DropReason.MalformedFrame);
            return;
        }
        var dst = MacAddress.Read(frame);
        if (dst != ifc.Mac && !dst.IsBroadcast)
        {
            Stats.Drop(DropReason.NotForUs);
            return;
        }
        int type = (frame[12] << 8) | frame[13];
        var payload = frame[NetLimits.EthernetHeader..];
        switch (type)
        {
            case EtherType.Ip4: IpInput(ifc, payload, dst.IsBroadcast); break;
            case EtherType.Arp: ArpInput(ifc, payload); break;
            default: Stats.Drop(DropReason.UnknownEtherType); break;
        }
    }

    /// <summary>Input: the time is now <paramref name="now"/>; runs every timer that is due.</summary>
    public void Advance(long now)
    {
        SetNow(now);
        foreach (var ifc in _interfaces) ArpTimers(ifc);
        _reassembler.Expire(_now);
        TcpTimers();
    }

    /// <summary>The earliest time at which Advance has work to do, or long.MaxValue.</summary>
    public long NextDeadline
    {
        get
        {
            long d = _reassembler.NextDeadline;
            foreach (var ifc in _interfaces)
                foreach (var e in ifc.Arp.Entries)
                    if (e.State == ArpCache.EntryState.Pending) d = Math.Min(d, e.NextRetry);
            return Math.Min(d, TcpNextDeadline());
        }
    }

    /// <summary>The driver of interface i is gone (crashed, being restarted): frames wait or are dropped until InterfaceReset.</summary>
    public void InterfaceDown(int interfaceIndex)
    {
        if ((uint)interfaceIndex >= (uint)_interfaces.Count) throw new ArgumentOutOfRangeException(nameof(interfaceIndex));
        _interfaces[interfaceIndex].Up = false;
    }

    /// <summary>
    /// The driver of interface i is (back) up — possibly a new driver instance with a new link and,
    /// for a replaced card, a new MAC. Sends a gratuitous ARP, then what waited while it was down.
    /// TCP state is untouched; retransmission repairs what was lost, and starts at once for
    /// connections on this interface (docs/inet.md, "Driver recovery").
    /// </summary>
    public void InterfaceReset(int interfaceIndex, long now, INetLink? link = null, MacAddress? mac = null)
    {
        SetNow(now);
        if ((uint)interfaceIndex >= (uint)_interfaces.Count) throw new ArgumentOutOfRangeException(nameof(interfaceIndex));
        var ifc = _interfaces[interfaceIndex];
        if (link != null) ifc.Link = link;
        if (mac is { } m)
        {
            if (m.IsGroup || m == MacAddress.Zero) throw new ArgumentException($"MAC {m} is not a unicast address", nameof(mac));
            ifc.Mac = m;
        }
        ifc.Up = true;
        SendGratuitousArp(ifc);
        Stats.FramesOut += ifc.FlushDownQueue();
        TcpInterfaceRestarted(ifc);
    }

    private void SetNow(long now)
    {
        if (now > _now) _now = now;
    }

    /// <summary>Hands a finished frame to the interface, or keeps it while the interface is down.</summary>
    private void Transmit(NetInterface ifc, ReadOnlySpan<byte> frame)
    {
        if (!ifc.Up)
        {
            if (!ifc.QueueWhileDown(frame)) Stats.Drop(DropReason.InterfaceDownOverflow);
            return;
        }
        Stats.FramesOut++;
        ifc.Link.Transmit(frame);
    }

    private static void WriteEthernet(Span<byte> frame, MacAddress dst, MacAddress src, int type)
    {
        dst.Write(frame);
        src.Write(frame[6..]);
        frame[12] = (byte)(type >> 8);
        frame[13] = (byte)type;
    }
}
