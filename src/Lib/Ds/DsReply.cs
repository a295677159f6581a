// Payload of DS's replies (56 bytes); m_type carries the result code.
//   U32, Endpoint, Str/StrLength  retrieved values (U32, LABEL, STR).
//   Length   full length of the stored MEM value or of the key written to the caller's buffer.
//   Copied   bytes actually copied into the caller's buffer (≤ its size).
//   Type     CHECK: type of the changed key.  Owner: CHECK: owner's current endpoint (NONE when
//            the owner label has no endpoint).  Snapshot: SNAPSHOT: number of the new snapshot.
//   Tag      the request's DsRequest.Tag, on every reply (at the same offset as in the request).
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Ds;

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct DsReply
{
    public uint U32;
    public int Endpoint;
    public int Length;
    public int Copied;
    public int Type;
    public int Owner;
    public int Snapshot;
    public int StrLength;
    public DsString Str;
    private readonly int _reserved; // Tag at the request's offset
    public uint Tag;
}
