// Protocol between a file server (or any client) and a block-device driver, in the style of
// MINIX's BDEV_* messages. A request is a SENDREC, or a SENDA whose answer then comes later as
// a message (the file server's way with untrusted drivers, thesis Fig. 3.6). The reply's m_type
// is the result (OK or a negative Err) and its payload a BlockReply that names its request: the
// request type (Request) and the client's Id echoed, so a client with several requests in
// flight tells the answers apart and notices an answer to the wrong request.
//   Open    (Minor, Access = AccessRead|AccessWrite): counts an open of the minor. Opening the
//           whole disk re-reads its partition table (when no minor of the disk is open). A
//           restarted driver knows no opens: every other request on a minor not opened with
//           this instance is EBADF, so a client learns that the driver changed and reopens.
//   Close   (Minor): EINVAL if the minor is not open.
//   Read / Write (Minor, GrantId = the buffer, Position, Count bytes): one buffer granted to the
//           driver (Grant.Write for Read, Grant.Read for Write).
//   Gather / Scatter (Minor, GrantId = a vector, Position, Count entries): the vector is Count
//           BlockIoVector entries granted (Grant.Read) to the driver, each naming a grant of the
//           client's, an offset in it and a length; the data is read into (Gather) or written
//           from (Scatter) the entries in order.
//   Ioctl   (Minor, Ioctl = code, Argument): IoctlGeometry answers Size, Base, SectorSize and
//           Partitions; IoctlRamSize (memory driver) creates a RAM disk of Argument bytes.
//   Flush   (Minor): the device's write cache reaches the medium (ATA FLUSH CACHE).
// Limits: Position and every length are multiples of the minor's sector size (EINVAL);
// a transfer moves at most MaxTransfer bytes and a vector has at most MaxVector entries (EINVAL);
// a transfer that starts at or runs past the end of the minor moves only the bytes before the
// end (a short Count, 0 at the end), as MINIX does. An unknown minor is ENXIO, an unknown
// ioctl ENOTTY, an unknown request ENOSYS, a bad grant the kernel's copy error.
// Rules: message numbers are explicit and append-only; payloads are 56 bytes; a driver checks
// every field of a request before acting on it and answers every request exactly once.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Block;

public static class BlockDriverCall
{
    public const int Base = Protocols.BlockDriver;
    public const int Open = Base + 1;
    public const int Close = Base + 2;
    public const int Read = Base + 3;
    public const int Write = Base + 4;
    public const int Gather = Base + 5;
    public const int Scatter = Base + 6;
    public const int Ioctl = Base + 7;
    public const int Flush = Base + 8;

    /// <summary>Largest transfer of one request, bytes (4 MiB).</summary>
    public const int MaxTransfer = 4 * 1024 * 1024;
    /// <summary>Most entries of a Gather/Scatter vector (MINIX NR_IOREQS; one VSAFECOPY).</summary>
    public const int MaxVector = 64;

    // Open's access bits.
    public const int AccessRead = 0x1;
    public const int AccessWrite = 0x2;

    // Ioctl codes.
    public const int IoctlGeometry = 1;
    public const int IoctlRamSize = 2;

    /// <summary>MBR primary partitions of a disk: minors 1..Partitions (minor 0 is the whole disk).</summary>
    public const int Partitions = 4;

    /// <summary>BlockReply.Flags: the minor's contents did not survive a restart of its driver
    /// (a RAM disk that came back empty); set on the first Open after the restart.</summary>
    public const int FlagContentsLost = 0x1;

    /// <summary>The request a reply answers (the first field of every reply payload).</summary>
    public static int RequestOf(in Message reply) => reply.As<BlockReply>().Request;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct BlockRequest
{
    /// <summary>The client's name for this request, echoed in the reply.</summary>
    public int Id;
    public int Minor;
    /// <summary>The buffer (Read/Write) or the vector (Gather/Scatter), a grant of the client's to the driver.</summary>
    public int GrantId;
    /// <summary>Bytes (Read/Write) or vector entries (Gather/Scatter).</summary>
    public int Count;
    /// <summary>Byte position on the minor; a multiple of its sector size.</summary>
    public long Position;
    /// <summary>Open: AccessRead | AccessWrite.</summary>
    public int Access;
    /// <summary>Ioctl: the code (IoctlGeometry, IoctlRamSize).</summary>
    public int Ioctl;
    /// <summary>Ioctl: its argument (IoctlRamSize: the size in bytes).</summary>
    public long Argument;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct BlockReply
{
    /// <summary>The request's message type (RequestOf).</summary>
    public int Request;
    /// <summary>The request's Id.</summary>
    public int Id;
    public int Minor;
    /// <summary>Bytes moved (Read, Write, Gather, Scatter).</summary>
    public int Count;
    /// <summary>Geometry: the minor's size in bytes.</summary>
    public long Size;
    /// <summary>Geometry: where the minor starts on the whole device, bytes.</summary>
    public long Base;
    public int SectorSize;
    /// <summary>Geometry of a whole disk: partitions found in its table.</summary>
    public int Partitions;
    /// <summary>BlockDriverCall.Flag* bits.</summary>
    public int Flags;
}

/// <summary>One entry of a Gather/Scatter vector: Length bytes at Offset in grant GrantId.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BlockIoVector
{
    public const int Size = 16;

    public int GrantId;
    public int Length;
    public long Offset;
}
