// A received UDP datagram as recvfrom returns it: the sender and the payload.
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Udp;

public sealed record UdpDatagram(Ip4Address Source, ushort SourcePort, byte[] Payload);
