// Protocol between the network server (or any client) and a network driver, in the style of
// MINIX's DL_* messages. A request is a SENDREC, or a SENDA whose answer comes later as a
// message (the network server's way, thesis Fig. 3.6); the reply's m_type is the result (OK or
// a negative Err) and its payload is the matching *Reply struct. Every reply payload starts
// with the request's message type (RequestOf), and Read/Write replies echo the request's grant
// id, so that a client with several requests in flight can tell the answers apart.
//   Conf    (NetConfRequest → NetConfReply): (re)configure the receive mode, answer the MAC
//           and the link state.
//   Write   (NetBufferRequest → NetWriteReply): send one frame of Length bytes that the client granted
//           (Grant.Read) to the driver; the driver copies it in with SAFECOPYFROM.
//   Read    (NetBufferRequest → NetReadReply): post one receive buffer the client granted
//           (Grant.Write). The reply is deferred until a frame arrives; the driver copies the
//           frame out with SAFECOPYTO and answers with its length. One posted buffer per client
//           (a second is EBUSY), and a bounded number of clients (ENOSPC beyond). Frames that
//           arrive while no buffer is posted wait in the driver's receive queue (RxQueueFrames;
//           more are dropped and counted) and answer the next Read at once.
//   GetStat (empty → NetStats): the driver's counters.
//   Fault   (NetFaultRequest → OK): makes this driver instance misbehave without crashing, for
//           tests and demonstrations of INET's detection (thesis §4.1.1): answer Writes naming
//           the wrong request, answer Reads with garbage, fall silent, or fail every Read. A
//           restarted instance starts well again. Like the test driver's Fail request, anyone
//           the policy lets reach the driver may send it.
// Rules: message numbers are explicit and append-only; payloads are 56 bytes; a driver checks
// every field of a request (grant lengths, mode bits) before acting on it.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Net;

public static class NetDriverCall
{
    public const int Base = Protocols.NetDriver;
    public const int Conf = Base + 1;
    public const int Write = Base + 2;
    public const int Read = Base + 3;
    public const int GetStat = Base + 4;
    public const int Fault = Base + 5;

    // NetFaultRequest.Mode.
    public const int FaultNone = 0;
    /// <summary>Writes are carried out but answered as if they were Reads, with another grant.</summary>
    public const int FaultWrongRequest = 1;
    /// <summary>Reads are answered with a garbage request type, grant and length.</summary>
    public const int FaultGarbage = 2;
    /// <summary>Writes and Reads are taken and never answered (frames not sent).</summary>
    public const int FaultSilent = 3;
    /// <summary>Every Read is answered EIO.</summary>
    public const int FaultReadErrors = 4;

    /// <summary>Largest frame without its FCS; smaller frames than MinFrame are padded by the driver.</summary>
    public const int MaxFrame = 1514;
    public const int MinFrame = 60;
    /// <summary>Destination, source and type: a frame shorter than this is refused.</summary>
    public const int HeaderLength = 14;

    // Receive-mode bits of NetConfRequest.Mode.
    public const int ModeBroadcast = 0x1;
    public const int ModeMulticast = 0x2;
    public const int ModePromiscuous = 0x4;
    public const int ModeMask = ModeBroadcast | ModeMulticast | ModePromiscuous;

    /// <summary>Received frames a driver keeps while no Read is posted; more are dropped (Dropped).</summary>
    public const int RxQueueFrames = 256;

    /// <summary>The request a reply answers (the first field of every reply payload).</summary>
    public static int RequestOf(in Message reply) => reply.As<NetWriteReply>().Request;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct NetFaultRequest
{
    /// <summary>NetDriverCall.Fault* mode.</summary>
    public int Mode;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct NetConfRequest
{
    /// <summary>NetDriverCall.Mode* bits; 0 keeps the current mode.</summary>
    public int Mode;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct NetConfReply
{
    /// <summary>NetDriverCall.Conf (RequestOf).</summary>
    public int Request;
    /// <summary>1 when the link is up.</summary>
    public int Link;
    /// <summary>The station address, byte i in bits 8i..8i+7.</summary>
    public long Mac;
    public int Mode;

    public readonly byte[] MacBytes()
    {
        var b = new byte[6];
        for (int i = 0; i < 6; i++) b[i] = (byte)(Mac >> (8 * i));
        return b;
    }

    public static long PackMac(ReadOnlySpan<byte> mac)
    {
        long v = 0;
        for (int i = 0; i < 6 && i < mac.Length; i++) v |= (long)mac[i] << (8 * i);
        return v;
    }
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct NetBufferRequest
{
    /// <summary>A grant of the sender's to the driver.</summary>
    public int GrantId;
    /// <summary>Bytes to send (Write) or room in the buffer (Read).</summary>
    public int Length;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct NetReadReply
{
    /// <summary>NetDriverCall.Read (RequestOf).</summary>
    public int Request;
    /// <summary>The grant of the Read this answers.</summary>
    public int GrantId;
    /// <summary>Bytes of the frame copied into the posted buffer.</summary>
    public int Length;
    /// <summary>The frame's length on the wire (larger than Length if the buffer was too small).</summary>
    public int FrameLength;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct NetWriteReply
{
    /// <summary>NetDriverCall.Write (RequestOf).</summary>
    public int Request;
    /// <summary>The grant of the Write this answers.</summary>
    public int GrantId;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct NetStats
{
    public long Sent;
    public long Received;
    /// <summary>Received frames with no posted buffer and no room in the receive queue, or lost in a ring overflow.</summary>
    public long Dropped;
    public long RxErrors;
    public long TxErrors;
    public long Overruns;
    /// <summary>Deferred replies that could not be delivered.</summary>
    public long ReplyFailures;
}
