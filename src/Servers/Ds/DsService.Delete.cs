// DS_DELETE: remove a key of one type. Only the owner (by label) may; the entry's snapshots go
// with it and subscribers hear of the change. Deleting a LABEL (RS does, on `service down`: the
// service is gone for good, a restart republishes instead) also drops what that label owns, as
// MINIX's do_delete does: its subscriptions and pending changes first, then every entry it
// published (subscribers hear of each). Without this, each label ever brought down kept its
// entries and subscriptions until the tables filled (ENOSPC for everyone).
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

        if (type == DsFlags.TypeLabel) Forget(e.Key);
        _store.Remove(e);
        Changed(e);
        ReplyOf(ref m);
        return Err.Ok;
    }

    /// <summary>Drops the subscriptions and the entries of a label whose service is gone.</summary>
    private void Forget(string label)
    {
        if (_subscribers.Remove(label, out var s)) _subscriptionCount -= s.Subscriptions.Count;
        foreach (var owned in _store.OwnedBy(label))
        {
            _store.Remove(owned);
            Changed(owned);
        }
    }
}
