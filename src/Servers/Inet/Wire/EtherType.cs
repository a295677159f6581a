// EtherType and IP protocol numbers the engine speaks (IEEE 802.3, RFC 790).
namespace Bulkhead.Servers.Inet.Wire;

public static class EtherType
{
    public const int Ip4 = 0x0800;
    public const int Arp = 0x0806;
}

public static class IpProtocol
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
}
