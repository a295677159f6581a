// ICMP message types and codes the engine sends or understands (RFC 792).
namespace Bulkhead.Servers.Inet;

internal static class IcmpType
{
    public const byte EchoReply = 0;
    public const byte Unreachable = 3;
    public const byte EchoRequest = 8;
    public const byte TimeExceeded = 11;

    // codes of Unreachable
    public const byte NetUnreachable = 0;
    public const byte HostUnreachable = 1;
    public const byte ProtocolUnreachable = 2;
    public const byte PortUnreachable = 3;
    public const byte FragmentationNeeded = 4;
}
