// DS_PUBLISH: store a U32, STR, MEM or LABEL value under a key.
//   EINVAL  unknown flag bits, not exactly one supported type (MAP included), INITIAL, a bad
//           key, an STR longer than 16 bytes, a MEM value over 64 KiB, a non-process endpoint
//   EPERM   LABEL from anyone but RS; a caller without a label; overwriting another's entry
//   EEXIST  the key exists (for LABEL: the key, or a label for the same endpoint) and
//           OVERWRITE is not set
//   ENOSPC  the entry table is full, or the MEM budget cannot hold the new value
// A LABEL published for an endpoint that already has another label renames that entry (MINIX:
// RS republishing a service under its label after a restart replaces the stale mapping).
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Ds;

internal sealed partial class DsService
{
    public int DoPublish(ref Message m)
    {
        var q = m.As<DsRequest>();
        int caller = m.Source;
        int flags = q.Flags;
        int type = flags & DsFlags.MaskType;
        if ((flags & ~DsFlags.AllRequestBits) != 0 || (flags & DsFlags.Initial) != 0) return Err.EINVAL;
        if (!DsFlags.IsSingleType(type)) return Err.EINVAL;
        if (type == DsFlags.TypeLabel && caller != Endpoint.Rs) return Err.EPERM;
        if (type == DsFlags.TypeStr && q.StrLength is < 0 or > DsLimits.MaxStrLength) return Err.EINVAL;
        if (type == DsFlags.TypeMem && q.ValueLength is < 0 or > DsLimits.MaxMemLength) return Err.EINVAL;
        if (type == DsFlags.TypeLabel && !ValidProcessEndpoint(q.Endpoint)) return Err.EINVAL;
        string? owner = _store.LabelOf(caller);
        if (owner is null) return Err.EPERM;

        int r = _copy.ReadKey(caller, q.KeyGrant, q.KeyLength, out string key);
        if (r != Err.Ok) return r;

        var existing = _store.Find(type, key);
        DsEntry? sameEndpoint = type == DsFlags.TypeLabel ? _store.FindLabel(q.Endpoint) : null;
        if (sameEndpoint == existing) sameEndpoint = null;
        var victim = existing ?? sameEndpoint; // the entry this publish replaces
        if (victim is not null)
        {
            if ((flags & DsFlags.Overwrite) == 0) return Err.EEXIST;
            if (victim.Owner != owner) return Err.EPERM;
        }
        // A key exists and another label holds the endpoint: the second label entry goes too.
        if (existing is not null && sameEndpoint is not null && sameEndpoint.Owner != owner) return Err.EPERM;
        if (victim is null && _store.Count >= DsLimits.MaxEntries) return Err.ENOSPC;

        byte[] bytes = [];
        if (type == DsFlags.TypeStr) bytes = ((ReadOnlySpan<byte>)q.Str)[..q.StrLength].ToArray();
        if (type == DsFlags.TypeMem)
        {
            long freed = victim?.Type == DsFlags.TypeMem ? victim.Bytes.Length : 0;
            if (q.ValueLength > _store.MemFree + freed) return Err.ENOSPC;
            r = _copy.ReadBytes(caller, q.ValueGrant, q.ValueLength, out bytes);
            if (r != Err.Ok) return r;
        }

        // All checks passed: change state.
        if (existing is not null && sameEndpoint is not null)
        {
            _store.Remove(sameEndpoint);
            Changed(sameEndpoint);
        }
        DsEntry e;
        if (victim is null)
        {
            e = new DsEntry(key, type);
            Fill(e, owner, flags, q, bytes);
            _store.Add(e);
        }
        else
        {
            e = victim;
            if (e.Key != key)
            {
                // Renamed label: subscribers of the old key hear that it went away.
                _store.Remove(e);
                Changed(e);
                e.Key = key;
                Fill(e, owner, flags, q, bytes);
                _store.Add(e);
            }
            else
            {
                _store.Update(e, x => Fill(x, owner, flags, q, bytes));
            }
        }
        Changed(e);
        if (type == DsFlags.TypeLabel && _subscribers.TryGetValue(key, out var restarted)) Wake(restarted);
        ReplyOf(ref m);
        return Err.Ok;
    }

    private static void Fill(DsEntry e, string owner, int flags, in DsRequest q, byte[] bytes)
    {
        e.Owner = owner;
        e.Privacy = flags & DsFlags.Private;
        e.U32 = q.U32;
        e.Endpoint = e.Type == DsFlags.TypeLabel ? q.Endpoint : 0;
        e.Bytes = bytes;
    }
}
