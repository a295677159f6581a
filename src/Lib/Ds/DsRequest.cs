// Payload of every request to DS (56 bytes, checked by the layout test). Which fields count
// depends on the call; DS checks each one it uses and ignores the rest.
//   KeyGrant/KeyLength   key, label or regex in the caller's arena, granted READ to DS.
//                        RETRIEVE_LABEL and CHECK: a buffer granted WRITE that receives the key.
//   ValueGrant/Length    MEM value (publish: READ; retrieve: WRITE, Length = buffer size).
//   U32, Endpoint        U32 and LABEL values; RETRIEVE_LABEL's endpoint.
//   Snapshot             RETRIEVE of MEM: 0 = current value, n = snapshot number n.
//   Str/StrLength        STR value inline (≤ 16 bytes).
//   Tag                  any number; DS's reply carries it back (DsReply.Tag), so a caller
//                        with several requests outstanding (RS's DsOutbox) knows which one
//                        an answer is for.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Ds;

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct DsRequest
{
    public int KeyGrant;
    public int KeyLength;
    public int Flags;
    public int ValueGrant;
    public int ValueLength;
    public uint U32;
    public int Endpoint;
    public int Snapshot;
    public int StrLength;
    public DsString Str;
    public uint Tag;
}
