// An ICMP echo reply as the echo socket hands it to a program: who answered, the sequence
// number, the TTL it arrived with, when it arrived (engine time, µs) and its payload.
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Icmp;

public sealed record EchoReply(Ip4Address Source, ushort Sequence, byte Ttl, long ArrivedAt, byte[] Payload);
