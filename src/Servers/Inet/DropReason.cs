// Why the engine dropped a frame, a datagram, a segment or an outgoing packet. One counter per
// reason lives in NetStats; `stats --net` prints them by name. Append-only: the numbers are the
// indices the server reports.
namespace Bulkhead.Servers.Inet;

public enum DropReason
{
    /// <summary>Shorter than an Ethernet header, or an EtherType the engine does not speak.</summary>
    MalformedFrame,
    /// <summary>Unicast frame for another MAC address.</summary>
    NotForUs,
    /// <summary>ARP packet with a bad length, hardware or protocol type.</summary>
    MalformedArp,
    /// <summary>ARP requests beyond the per-interface rate limit (ARP storm).</summary>
    ArpStormLimit,
    /// <summary>ARP cache full of entries that cannot be evicted.</summary>
    ArpCacheFull,
    /// <summary>A packet waiting for an ARP reply when the per-address queue was full.</summary>
    ArpQueueOverflow,
    /// <summary>Packets queued for an address that never answered ARP.</summary>
    ArpUnresolved,
    /// <summary>IPv4 header shorter than 20 bytes or than its IHL, or total length past the frame.</summary>
    TruncatedHeader,
    /// <summary>IPv4 version not 4, IHL below 5, or total length below the header.</summary>
    MalformedIp,
    BadIpChecksum,
    /// <summary>IPv4 datagram for an address that is not ours.</summary>
    NotOurAddress,
    /// <summary>IPv4 options that run past the header (RFC 791 option lengths).</summary>
    OptionsPastHeader,
    UnknownProtocol,
    /// <summary>A fragment that does not fit 65535 bytes or overlaps the end.</summary>
    BadFragment,
    /// <summary>No reassembly slot or byte budget left for a new fragment.</summary>
    ReassemblyOverflow,
    /// <summary>Fragments of a datagram that did not complete in time.</summary>
    ReassemblyTimeout,
    /// <summary>No route to the destination of an outgoing datagram.</summary>
    NoRoute,
    /// <summary>Outgoing frame while the interface was down and its queue full.</summary>
    InterfaceDownOverflow,
    /// <summary>Datagram larger than the MTU with don't-fragment set.</summary>
    NeedsFragmentation,
    MalformedIcmp,
    BadIcmpChecksum,
    /// <summary>ICMP errors beyond the rate limit (RFC 1812 §4.3.2.8) were not sent.</summary>
    IcmpRateLimit,
    MalformedUdp,
    BadUdpChecksum,
    /// <summary>UDP datagram for a port nobody bound (answered with port unreachable).</summary>
    NoUdpListener,
    /// <summary>UDP socket receive queue full.</summary>
    UdpQueueFull,
    MalformedTcp,
    BadTcpChecksum,
    /// <summary>TCP options that run past the data offset.</summary>
    TcpOptionsPastHeader,
    /// <summary>TCP segment for a port nobody listens on (answered with RST).</summary>
    NoTcpListener,
    /// <summary>SYN to a listener whose backlog is full (SYN flood).</summary>
    SynBacklogFull,
    /// <summary>Segment outside the receive window (acknowledged, RFC 9293 §3.10.7.4).</summary>
    OutOfWindow,
    /// <summary>Segment whose timestamp is older than the last one (PAWS, RFC 7323 §5).</summary>
    PawsRejected,
    /// <summary>Out-of-order segment that did not fit the bounded reordering queue.</summary>
    OutOfOrderOverflow,
    /// <summary>RST not exactly at RCV.NXT: answered with a challenge ACK (RFC 5961 §3).</summary>
    RstChallenged,
    /// <summary>ACK for data never sent, or too old (RFC 5961 §5).</summary>
    BadAck,
    /// <summary>No socket left (NetLimits.MaxSockets).</summary>
    SocketTableFull,
    /// <summary>Echo reply nobody waits for, or echo socket queue full.</summary>
    NoIcmpListener,
    /// <summary>EtherType the engine does not speak (IPv6, VLAN, ...).</summary>
    UnknownEtherType,
}
