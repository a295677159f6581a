// Protocol between programs and the network server INET (docs/inet.md, "Sockets"): one request
// per socket call, always a SENDREC from the program; data moves through a grant the program
// made to INET (Grant.Read for what INET reads, Grant.Write for what it writes). INET answers
// a call that cannot complete yet (connect before the handshake, accept with no connection,
// recv with no data, send into a full buffer, poll with nothing ready) later, so the program
// simply stays blocked in its SENDREC — thesis §4.5: if INET dies meanwhile, the kernel ends
// the SENDREC with EDEADSRCDST, so a program gets an error, never a hang. A call with
// InetCall.NonBlocking answers EAGAIN (EINPROGRESS for connect) instead of waiting, and a
// TimeoutMs > 0 bounds the wait (ETIMEDOUT).
//   TcpConnect (InetOpenRequest → InetOpenReply)     a connection to Remote:RemotePort
//   TcpListen  (InetOpenRequest → InetOpenReply)     a listener on Local:LocalPort
//   Accept     (InetIoRequest   → InetOpenReply)     the next connection of a listener
//   UdpOpen    (InetOpenRequest → InetOpenReply)     a UDP socket bound to Local:LocalPort (0: any)
//   EchoOpen   (InetOpenRequest → InetOpenReply)     an ICMP echo socket; LocalPort = its identifier
//   Send       (InetIoRequest   → count)             TCP: bytes taken (blocking: at least one);
//                                                    UDP: a datagram to Remote:RemotePort;
//                                                    echo: a request to Remote with sequence Sequence
//   Recv       (InetIoRequest   → InetRecvReply)     TCP: bytes (0 = end of stream); UDP/echo: one
//                                                    datagram or reply, with its source
//   Shutdown, Close (InetIoRequest → OK)             end sending (FIN) / give the socket up
//   Poll       (InetPollRequest → count)             readiness of up to MaxPoll sockets, entries
//                                                    (InetPollEntry) in a Grant.Read|Write buffer
//   SetOption  (InetIoRequest   → OK)                Option/Value: NoDelay
//   Stats      (InetIoRequest   → length)            INET's counters as text into the granted buffer
// Every answer's m_type is a count/OK or a negative Err; sockets are owned by the endpoint that
// opened them, and another endpoint's call on one is EBADF. Addresses are IPv4 in host order
// (a.b.c.d = a << 24 | b << 16 | c << 8 | d). Rules: message numbers are explicit and
// append-only; payloads are 56 bytes.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Net;

public static class InetCall
{
    public const int Base = Protocols.Inet;
    public const int TcpConnect = Base + 1;
    public const int TcpListen = Base + 2;
    public const int Accept = Base + 3;
    public const int UdpOpen = Base + 4;
    public const int EchoOpen = Base + 5;
    public const int Send = Base + 6;
    public const int Recv = Base + 7;
    public const int Shutdown = Base + 8;
    public const int Close = Base + 9;
    public const int Poll = Base + 10;
    public const int SetOption = Base + 11;
    public const int Stats = Base + 12;

    /// <summary>Flag: answer EAGAIN / EINPROGRESS instead of waiting.</summary>
    public const int NonBlocking = 0x1;

    /// <summary>Largest transfer of one Send or Recv (bigger grants are refused: EINVAL).</summary>
    public const int MaxTransfer = 256 * 1024;
    /// <summary>Sockets one Poll may name.</summary>
    public const int MaxPoll = 64;
    /// <summary>Sockets one endpoint may hold open.</summary>
    public const int MaxSocketsPerOwner = 128;

    // Poll events (InetPollEntry.Events / Revents), POSIX's POLLIN/POLLOUT/POLLERR/POLLHUP values.
    public const short PollIn = 0x1;
    public const short PollOut = 0x4;
    public const short PollErr = 0x8;
    public const short PollHup = 0x10;
    /// <summary>Revents only: the socket id names no socket of the caller.</summary>
    public const short PollInvalid = 0x20;

    // SetOption options.
    public const int OptionNoDelay = 1;

    /// <summary>The label INET runs under (DS), which programs look up.</summary>
    public const string Label = "inet";
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct InetOpenRequest
{
    public int Flags;
    public uint Local;
    public int LocalPort;
    public uint Remote;
    public int RemotePort;
    /// <summary>TcpListen: the backlog (1..128).</summary>
    public int Backlog;
    /// <summary>Milliseconds a blocking TcpConnect waits at most (0: as long as TCP tries).</summary>
    public int TimeoutMs;
    /// <summary>TCP buffer sizes in bytes (0: INET's default).</summary>
    public int SendBuffer;
    public int ReceiveBuffer;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct InetOpenReply
{
    public int Socket;
    public uint Local;
    public int LocalPort;
    public uint Remote;
    public int RemotePort;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct InetIoRequest
{
    public int Socket;
    public int Flags;
    public int Grant;
    public int Length;
    /// <summary>Milliseconds a blocking call waits at most (0: no limit).</summary>
    public int TimeoutMs;
    /// <summary>UDP and echo Send: the destination; echo Send: the sequence number.</summary>
    public uint Remote;
    public int RemotePort;
    public int Sequence;
    /// <summary>SetOption.</summary>
    public int Option;
    public int Value;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct InetRecvReply
{
    public int Length;
    /// <summary>UDP and echo: where it came from; echo: its sequence number and TTL.</summary>
    public uint Source;
    public int SourcePort;
    public int Sequence;
    public int Ttl;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct InetPollRequest
{
    /// <summary>A Grant.Read|Write buffer of Count InetPollEntry.</summary>
    public int Grant;
    public int Count;
    /// <summary>Milliseconds to wait at most; 0 answers at once, -1 waits without limit.</summary>
    public int TimeoutMs;
}

[StructLayout(LayoutKind.Sequential)]
public struct InetPollEntry
{
    public int Socket;
    public short Events;
    public short Revents;

    public const int Size = 8;
}
