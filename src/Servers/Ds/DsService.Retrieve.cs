// DS_RETRIEVE: read a value by key and type; DS_RETRIEVE_LABEL: the label of an endpoint.
//   EINVAL  flag bits other than exactly one supported type, a bad key, a snapshot number
//           below 0 or given for a non-MEM type, a MEM buffer size outside 0..64 KiB
//   ESRCH   no such key of that type, no such snapshot, no label for the endpoint
//   EPERM   a PRIVATE entry asked for by anyone but its owner (by label)
//   E2BIG   RETRIEVE_LABEL's key buffer is smaller than the label
// A MEM value larger than the caller's buffer is truncated to it (MINIX); the reply tells the
// stored length and the bytes copied.
using System.Text;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Ds;

internal sealed partial class DsService
{
    public int DoRetrieve(ref Message m)
    {
        var q = m.As<DsRequest>();
        int caller = m.Source;
        int type = q.Flags;
        if (!DsFlags.IsSingleType(type)) return Err.EINVAL;
        if (q.Snapshot < 0 || (q.Snapshot != 0 && type != DsFlags.TypeMem)) return Err.EINVAL;
        if (type == DsFlags.TypeMem && q.ValueLength is < 0 or > DsLimits.MaxMemLength) return Err.EINVAL;

        int r = _copy.ReadKey(caller, q.KeyGrant, q.KeyLength, out string key);
        if (r != Err.Ok) return r;
        var e = _store.Find(type, key);
        if (e is null) return Err.ESRCH;
        if (!Allowed(e, _store.LabelOf(caller), DsFlags.PrivRetrieve)) return Err.EPERM;

        var reply = default(DsReply);
        switch (type)
        {
            case DsFlags.TypeU32:
                reply.U32 = e.U32;
                break;
            case DsFlags.TypeLabel:
                reply.Endpoint = e.Endpoint;
                break;
            case DsFlags.TypeStr:
                e.Bytes.CopyTo((Span<byte>)reply.Str);
                reply.StrLength = e.Bytes.Length;
                break;
            case DsFlags.TypeMem:
                byte[] data = e.Bytes;
                if (q.Snapshot != 0)
                {
                    int i = e.Snapshots.FindIndex(s => s.Number == q.Snapshot);
                    if (i < 0) return Err.ESRCH;
                    data = e.Snapshots[i].Data;
                }
                int n = Math.Min(data.Length, q.ValueLength);
                r = _copy.Write(caller, q.ValueGrant, data.AsSpan(0, n));
                if (r != Err.Ok) return r;
                reply.Length = data.Length;
                reply.Copied = n;
                break;
        }
        ReplyOf(ref m) = reply;
        return Err.Ok;
    }

    public int DoRetrieveLabel(ref Message m)
    {
        var q = m.As<DsRequest>();
        int caller = m.Source;
        if (q.KeyLength < 0 || q.KeyLength > DsLimits.MaxKeyLength) return Err.EINVAL;
        var e = _store.FindLabel(q.Endpoint);
        if (e is null) return Err.ESRCH;
        byte[] label = Encoding.ASCII.GetBytes(e.Key);
        if (label.Length > q.KeyLength) return Err.E2BIG;
        int r = _copy.Write(caller, q.KeyGrant, label);
        if (r != Err.Ok) return r;
        ReplyOf(ref m).Length = label.Length;
        return Err.Ok;
    }
}
