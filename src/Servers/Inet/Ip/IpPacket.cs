// One received IPv4 datagram as the transport layers see it: addresses, protocol, the header
// (for ICMP errors that quote it) and the payload, as spans into the frame or the reassembly
// buffer, valid only during the input call.
using Bulkhead.Servers.Inet.Link;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Ip;

internal readonly ref struct IpPacket(NetInterface ifc, Ip4Address source, Ip4Address destination, byte protocol,
    bool broadcast, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
{
    public NetInterface Interface { get; } = ifc;
    public Ip4Address Source { get; } = source;
    public Ip4Address Destination { get; } = destination;
    public byte Protocol { get; } = protocol;
    /// <summary>Sent to a broadcast address (ICMP errors are never sent for these, RFC 1122 §3.2.2).</summary>
    public bool Broadcast { get; } = broadcast;
    public ReadOnlySpan<byte> Header { get; } = header;
    public ReadOnlySpan<byte> Payload { get; } = payload;
}
