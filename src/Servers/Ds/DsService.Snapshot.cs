// DS_SNAPSHOT: freeze the current value of a MEM entry as snapshot number n (1, 2, … per
// entry); the last SnapshotsPerEntry are kept, the oldest is dropped beyond that. Retrieve one
// with DS_RETRIEVE and Snapshot = n. Only the owner may take snapshots (MINIX
// DSF_PRIV_SNAPSHOT, here for public entries too: a snapshot spends the owner's budget).
//   EINVAL  flags other than TYPE_MEM, a bad key
//   ESRCH   no such MEM key
//   EPERM   the caller is not the owner
//   ENOSPC  the MEM budget cannot hold the copy
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Ds;

internal sealed partial class DsService
{
    public int DoSnapshot(ref Message m)
    {
        var q = m.As<DsRequest>();
        int caller = m.Source;
        if (q.Flags != DsFlags.TypeMem) return Err.EINVAL;
        string? label = _store.LabelOf(caller);
        if (label is null) return Err.EPERM;
        int r = _copy.ReadKey(caller, q.KeyGrant, q.KeyLength, out string key);
        if (r != Err.Ok) return r;
        var e = _store.Find(DsFlags.TypeMem, key);
        if (e is null) return Err.ESRCH;
        if (e.Owner != label) return Err.EPERM;
        long freed = e.Snapshots.Count >= DsLimits.SnapshotsPerEntry ? e.Snapshots[0].Data.Length : 0;
        if (e.Bytes.Length > _store.MemFree + freed) return Err.ENOSPC;

        int number = e.LastSnapshot + 1;
        _store.Update(e, x =>
        {
            if (x.Snapshots.Count >= DsLimits.SnapshotsPerEntry) x.Snapshots.RemoveAt(0);
            x.Snapshots.Add(new DsSnapshot(number, x.Bytes));
            x.LastSnapshot = number;
        });
        ReplyOf(ref m).Snapshot = number;
        return Err.Ok;
    }
}
