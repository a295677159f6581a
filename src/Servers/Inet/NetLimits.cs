// Every bound on the engine's memory and every protocol constant, in one place (docs/inet.md,
// "Limits"). Overflowing a bound drops and counts (NetStats), never grows a table. Times are
// microseconds, the engine's unit.
namespace Bulkhead.Servers.Inet;

public static class NetLimits
{
    public const long Millisecond = 1000;
    public const long Second = 1000 * Millisecond;

    public const int MaxInterfaces = 8;
    public const int MaxRoutes = 32;
    public const int EthernetHeader = 14;
    public const int DefaultMtu = 1500;
    public const int MinMtu = 576;
    public const int MaxMtu = 9000;
    /// <summary>Frames kept per interface while it is down, sent when it comes back.</summary>
    public const int DownQueueFrames = 64;

    // ARP (RFC 826, RFC 1122 §2.3.2.1)
    public const int ArpCacheEntries = 64;
    public const long ArpEntryLifetime = 60 * Second;
    public const long ArpRetryInterval = 1 * Second;
    public const int ArpRetries = 3;
    /// <summary>Frames queued per unresolved address (RFC 1122 says SHOULD keep at least one); enough for a fragmented 64 KiB datagram.</summary>
    public const int ArpPendingPerEntry = 128;
    /// <summary>Bytes queued per unresolved address (like Linux's unres_qlen_bytes).</summary>
    public const int ArpPendingBytes = 96 * 1024;
    /// <summary>ARP requests answered per interface per second; more are counted as a storm.</summary>
    public const int ArpRepliesPerSecond = 200;

    // IPv4 (RFC 791, RFC 1122 §3.3.2)
    public const byte DefaultTtl = 64;
    public const int ReassemblySlots = 16;
    public const int ReassemblyBytes = 256 * 1024;
    public const long ReassemblyTimeout = 30 * Second;
    public const int MaxDatagram = 65535;

    // ICMP
    public const int IcmpErrorsPerSecond = 100;
    public const int EchoQueue = 32;

    // UDP
    public const int UdpQueueDatagrams = 64;
    public const int UdpQueueBytes = 256 * 1024;

    // Sockets and TCP
    public const int MaxSockets = 256;
    /// <summary>Closed connections kept in TIME-WAIT outside the socket table; past this the oldest ends early.</summary>
    public const int MaxTimeWait = 1024;
    public const int DefaultBacklog = 16;
    public const int MaxBacklog = 128;
    public const int DefaultTcpBuffer = 256 * 1024;
    public const int MinTcpBuffer = 4 * 1024;
    public const int MaxTcpBuffer = 4 * 1024 * 1024;
    /// <summary>Disjoint ranges of out-of-order data held per connection (the bytes themselves
    /// sit in the receive ring's free space, so the window bounds them).</summary>
    public const int OutOfOrderRanges = 32;
    /// <summary>SACK blocks per ACK at most (RFC 2018 §3: four fit in 40 bytes of options, three beside timestamps).</summary>
    public const int SackBlocks = 4;
    public const int DefaultMss = 536;
    public const long InitialRto = 1 * Second;
    /// <summary>RFC 6298 (2.4) says 1 s; 200 ms as Linux does, so a lost frame during a driver restart costs little.</summary>
    public const long MinRto = 200 * Millisecond;
    public const long MaxRto = 60 * Second;
    public const int MaxRetransmits = 15;
    public const int MaxSynRetransmits = 6;
    public const long DelayedAck = 40 * Millisecond;
    public const long MinPersist = 200 * Millisecond;
    public const long MaxPersist = 60 * Second;
    /// <summary>2·MSL with MSL = 30 s (RFC 9293 says MSL is 2 min; Linux uses 60 s for TIME-WAIT).</summary>
    public const long TimeWait = 60 * Second;
    public const int EphemeralFirst = 49152;
    public const int EphemeralLast = 65535;
}
