// ARP (RFC 826 with RFC 1122 §2.3.2): answering requests for our addresses (rate-limited per
// interface against storms), learning from requests and replies by RFC 826's merge rule,
// resolving next hops for outgoing IPv4 frames with a bounded queue per unresolved address,
// retrying requests, expiring entries, and gratuitous ARP when an interface (re)starts.
using System.Buffers.Binary;
using Bulkhead.Servers.Inet.Link;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet;

public sealed partial class NetEngine
{
    private const int ArpLength = 28;
    private readonly byte[] _arpFrame = new byte[NetLimits.EthernetHeader + ArpLength];

    private void ArpInput(NetInterface ifc, ReadOnlySpan<byte> p)
    {
        if (p.Length < ArpLength
            || BinaryPrimitives.ReadUInt16BigEndian(p) != 1            // hardware: Ethernet
            || BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != EtherType.Ip4
            || p[4] != 6 || p[5] != 4)
        {
            Stats.Drop(DropReason.MalformedArp);
            return;
        }
        int op = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        var senderMac = MacAddress.Read(p[8..]);
        var senderIp = Ip4Address.Read(p[14..]);
        var targetIp = Ip4Address.Read(p[24..]);
        if (op is not (1 or 2) || senderMac.IsGroup || senderMac == MacAddress.Zero || senderMac == ifc.Mac)
        {
            Stats.Drop(DropReason.MalformedArp);
            return;
        }
        // RFC 826 "Packet Reception": merge into an existing entry; add only if we are the target.
        bool merged = false;
        if (!senderIp.IsAny && senderIp != ifc.Address)
        {
            var e = ifc.Arp.Find(senderIp);
            if (e != null)
            {
                Resolve(ifc, e, senderMac);
                merged = true;
            }
        }
        if (targetIp != ifc.Address) return;
        if (!merged && !senderIp.IsAny && senderIp != ifc.Address && ifc.OnLink(senderIp))
        {
            var e = ifc.Arp.Allocate();
            if (e == null) Stats.Drop(DropReason.ArpCacheFull);
            else
            {
                e.Ip = senderIp;
                Resolve(ifc, e, senderMac);
            }
        }
        if (op == 1)
        {
            if (!ifc.TakeArpToken(_now))
            {
                Stats.Drop(DropReason.ArpStormLimit);
                return;
            }
            SendArp(ifc, 2, senderMac, senderMac, senderIp);
        }
    }

    /// <summary>Marks an entry resolved and sends the frames that waited for it.</summary>
    private void Resolve(NetInterface ifc, ArpCache.Entry e, MacAddress mac)
    {
        e.State = ArpCache.EntryState.Resolved;
        e.Mac = mac;
        e.Expires = _now + NetLimits.ArpEntryLifetime;
        e.Retries = 0;
        for (int i = 0; i < e.PendingCount; i++)
        {
            var frame = e.Pending[i].AsSpan(0, e.PendingLength[i]);
            mac.Write(frame);
            ifc.Mac.Write(frame[6..]); // the MAC may have changed while it waited (interface reset)
            Transmit(ifc, frame);
        }
        e.ClearPending();
    }

    /// <summary>
    /// Sends an IPv4 frame (Ethernet header space at frame[0..14]) to <paramref name="nextHop"/> on
    /// <paramref name="ifc"/>, resolving the hardware address first if needed.
    /// </summary>
    private void SendIpFrame(NetInterface ifc, Ip4Address nextHop, Span<byte> frame)
    {
        if (nextHop.IsBroadcast || nextHop == ifc.DirectedBroadcast)
        {
            WriteEthernet(frame, MacAddress.Broadcast, ifc.Mac, EtherType.Ip4);
            Transmit(ifc, frame);
            return;
        }
        var e = ifc.Arp.Find(nextHop);
        if (e is { State: ArpCache.EntryState.Resolved } && e.Expires > _now)
        {
            WriteEthernet(frame, e.Mac, ifc.Mac, EtherType.Ip4);
            Transmit(ifc, frame);
            return;
        }
        if (e == null)
        {
            e = ifc.Arp.Allocate();
            if (e == null)
            {
                Stats.Drop(DropReason.ArpCacheFull);
                return;
            }
            e.Ip = nextHop;
        }
        WriteEthernet(frame, MacAddress.Zero, ifc.Mac, EtherType.Ip4);
        for (int d = ArpCache.Enqueue(e, frame); d > 0; d--) Stats.Drop(DropReason.ArpQueueOverflow);
        if (e.State != ArpCache.EntryState.Pending)
        {
            // New or expired: ask (RFC 1122 §2.3.2.1: an expired entry is re-resolved).
            e.State = ArpCache.EntryState.Pending;
            e.Retries = 0;
            e.NextRetry = _now + NetLimits.ArpRetryInterval;
            SendArp(ifc, 1, MacAddress.Broadcast, MacAddress.Zero, nextHop);
        }
    }

    private void ArpTimers(NetInterface ifc)
    {
        foreach (var e in ifc.Arp.Entries)
        {
            if (e.State != ArpCache.EntryState.Pending || e.NextRetry > _now) continue;
            if (e.Retries >= NetLimits.ArpRetries)
            {
                for (int i = e.ClearPending(); i > 0; i--) Stats.Drop(DropReason.ArpUnresolved);
                e.State = ArpCache.EntryState.Free;
                continue;
            }
            e.Retries++;
            e.NextRetry = _now + NetLimits.ArpRetryInterval;
            SendArp(ifc, 1, MacAddress.Broadcast, MacAddress.Zero, e.Ip);
        }
    }

    /// <summary>A gratuitous ARP (a request for our own address) so that neighbours update their caches.</summary>
    private void SendGratuitousArp(NetInterface ifc) =>
        SendArp(ifc, 1, MacAddress.Broadcast, MacAddress.Zero, ifc.Address);

    private void SendArp(NetInterface ifc, int op, MacAddress ethDst, MacAddress targetMac, Ip4Address targetIp)
    {
        var f = _arpFrame.AsSpan();
        WriteEthernet(f, ethDst, ifc.Mac, EtherType.Arp);
        var p = f[NetLimits.EthernetHeader..];
        BinaryPrimitives.WriteUInt16BigEndian(p, 1);
        BinaryPrimitives.WriteUInt16BigEndian(p[2..], EtherType.Ip4);
        p[4] = 6;
        p[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(p[6..], (ushort)op);
        ifc.Mac.Write(p[8..]);
        ifc.Address.Write(p[14..]);
        targetMac.Write(p[18..]);
        targetIp.Write(p[24..]);
        Transmit(ifc, f);
    }

    /// <summary>The cached hardware address of <paramref name="ip"/> on interface i, if resolved and not expired.</summary>
    public MacAddress? ArpLookup(int interfaceIndex, Ip4Address ip)
    {
        var e = _interfaces[interfaceIndex].Arp.Find(ip);
        return e is { State: ArpCache.EntryState.Resolved } && e.Expires > _now ? e.Mac : null;
    }
}
