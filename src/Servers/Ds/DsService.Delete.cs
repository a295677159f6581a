// DS_DELETE: remove a key of one type. Only the owner (by label) may; the entry's snapshots go
// with it and subscribers hear of the change.
//   EINVAL  flag bits other than exactly one supported type, a bad key
//   ESRCH   no such key of that type
//   EPERM   the caller has no label, or is not the owner
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Ds;

internal sealed partial class DsService
{
    public int DoDelete(ref Message m)
    {
        var q = m.As<DsRequest>();
        int caller = m.Source;
        int type = q.Flags;
        if (!DsFlags.IsSingleType(type)) return Err.EINVAL;
        string? label = _store.LabelOf(caller);
        if (label is null) return Err.EPERM;
        int r = _copy.ReadKey(caller, q.KeyGrant, q.KeyLength, out string key);
        if (r != Err.Ok) return r;
        var e = _store.Find(type, key);
        if (e is null) return Err.ESRCH;
        if (e.Owner != label) return Err.EPERM;

        _store.Remove(e);
        Changed(e);
        ReplyOf(ref m);
        return Err.Ok;
    }
}
