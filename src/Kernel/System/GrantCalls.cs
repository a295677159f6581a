// Memory grants (thesis §3.3.2, Figs. 3.4–3.5; MINIX do_setgrant.c, do_safecopy.c): SETGRANT
// registers the caller's grant table, SAFECOPYFROM / SAFECOPYTO / VSAFECOPY copy between the
// caller's arena and a region another process granted it.
//
// Rules. The grant table lives in the grantor's arena and is untrusted: at every copy each
// entry on the path is copied out once (TryRead) and only the copy is examined, all range
// arithmetic is overflow-safe, and nothing is copied until every check has passed — so
// revocation is immediate (the next copy reads the cleared entry) and a grantor that rewrites
// its table mid-call can only make its own grant fail. Indirect grants are followed to the
// root direct grant (at most Grant.MaxIndirectDepth links, then ELOOP); the grantee of every
// link must be the process asking at that level (or ANY), and the rights are the intersection
// along the chain. Results, as MINIX:
//   granter not a process endpoint (ANY, NONE, SELF, a kernel task, out of the table),
//   negative grant id                                    → EINVAL      (invalid grantor/id)
//   granter (or a granter along the chain) dead or stale → EDEADSRCDST (invalid grantor/id)
//   no table, index beyond the table                     → EPERM       (grant id out of range)
//   not USED|VALID, sequence mismatch, not DIRECT/INDIRECT (MAGIC grants are not supported),
//   direct region that wraps or leaves the granter's arena → EPERM     (unused/invalid grant)
//   wrong grantee                                        → EPERM       (invalid grantor/id)
//   READ/WRITE not granted along the whole chain         → EPERM       (access violates grant)
//   [offset, offset+length) not inside the grant         → EPERM       (region exceeds grant)
//   chain longer than MaxIndirectDepth links             → ELOOP       (unused/invalid grant)
//   local buffer outside the caller's arena              → EFAULT      (buffer outside arena)
// Each failure is counted once, against the caller, with the Fig. 5.5 category in brackets.
using System.Runtime.CompilerServices;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private int DoSetGrant(Proc caller, ref Message m)
    {
        var req = m.As<SetGrantRequest>();
        if (req.Count is < 0 or > Grant.MaxEntries) return Err.EINVAL;
        if (req.Count > 0 && !caller.Arena!.Contains(req.Offset, (long)req.Count * GrantEntry.Size))
            return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        caller.GrantTable = req.Count == 0 ? 0 : req.Offset;
        caller.GrantCount = req.Count;
        m = default;
        return Err.Ok;
    }

    private int DoSafeCopyFrom(Proc caller, ref Message m) => SafeCopyCall(caller, ref m, toGrant: false);

    private int DoSafeCopyTo(Proc caller, ref Message m) => SafeCopyCall(caller, ref m, toGrant: true);

    private int SafeCopyCall(Proc caller, ref Message m, bool toGrant)
    {
        var req = m.As<SafeCopyRequest>();
        int r = SafeCopy(caller, req.Granter, req.GrantId, req.GrantOffset, req.LocalOffset, req.Length, toGrant);
        if (r == Err.Ok) m = default;
        return r;
    }

    private int DoVSafeCopy(Proc caller, ref Message m)
    {
        var req = m.As<VSafeCopyRequest>();
        if (req.Count is < 0 or > VSafeCopyRequest.MaxCount) return Err.EINVAL;
        // The whole vector is copied out first: the caller may change it while we work.
        var vec = new VSafeCopyEntry[req.Count];
        int size = Unsafe.SizeOf<VSafeCopyEntry>();
        for (int i = 0; i < vec.Length; i++)
            if (!caller.Arena!.TryRead(req.VectorOffset + (long)i * size, out vec[i]))
                return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        foreach (var v in vec)
        {
            bool toGrant;
            int granter;
            if (v.From == Endpoint.Self && v.To != Endpoint.Self) { toGrant = true; granter = v.To; }
            else if (v.To == Endpoint.Self && v.From != Endpoint.Self) { toGrant = false; granter = v.From; }
            else return Err.EINVAL;
            int r = SafeCopy(caller, granter, v.GrantId, v.GrantOffset, v.LocalOffset, v.Length, toGrant);
            if (r != Err.Ok) return r;
        }
        m = default;
        return Err.Ok;
    }

    /// <summary>One checked copy between the caller's arena and a grant; counts its own denials.</summary>
    private int SafeCopy(Proc caller, int granter, int grantId, long grantOffset, long localOffset, long length, bool toGrant)
    {
        int access = toGrant ? Grant.Write : Grant.Read;
        int r = VerifyGrant(caller, caller.Endpoint, granter, grantId, grantOffset, length, access, out var root, out long at);
        if (r != Err.Ok) return r;
        if (!caller.Arena!.TrySlice(localOffset, length, out var local))
            return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        if (!root!.Arena!.TrySlice(at, length, out var remote))
            return Refused(caller, Denial.GrantUnusedOrInvalid, Err.EPERM); // cannot happen: checked in VerifyGrant
        if (toGrant) local.CopyTo(remote);
        else remote.CopyTo(local);
        return Err.Ok;
    }

    /// <summary>Follows grant <paramref name="grantId"/> of <paramref name="granter"/> to its root direct
    /// grant and checks that <paramref name="grantee"/> may perform <paramref name="access"/> on
    /// [offset, offset+length) of it. On success: the root granter and the arena offset of the region.</summary>
    private int VerifyGrant(Proc caller, int grantee, int granter, int grantId, long offset, long length, int access,
                            out Proc? root, out long at)
    {
        root = null;
        at = 0;
        int rights = Grant.ReadWrite;
        for (int depth = 0; ; depth++)
        {
            int slot = Endpoint.Slot(granter);
            if (Endpoint.IsSpecial(granter) || slot < 0 || slot >= _procs.Length || grantId < 0)
                return Refused(caller, Denial.GrantInvalidGrantor, Err.EINVAL);
            var g = ProcOf(granter);
            if (g is null) return Refused(caller, Denial.GrantInvalidGrantor, Err.EDEADSRCDST);
            int idx = Grant.Index(grantId);
            if (g.GrantCount <= 0 || idx >= g.GrantCount)
                return Refused(caller, Denial.GrantIdOutOfRange, Err.EPERM);
            // One read of the untrusted entry; from here on only the copy is used.
            if (!g.Arena!.TryRead(g.GrantTable + (long)idx * GrantEntry.Size, out GrantEntry e))
                return Refused(caller, Denial.GrantIdOutOfRange, Err.EPERM);
            if ((e.Flags & (Grant.Used | Grant.Valid)) != (Grant.Used | Grant.Valid) || e.Seq != Grant.Seq(grantId))
                return Refused(caller, Denial.GrantUnusedOrInvalid, Err.EPERM);
            if (e.Grantee != grantee && e.Grantee != Endpoint.Any)
                return Refused(caller, Denial.GrantInvalidGrantor, Err.EPERM);
            rights &= e.Flags;
            switch (e.Flags & Grant.TypeMask)
            {
                case Grant.Indirect:
                    if (depth == Grant.MaxIndirectDepth)
                        return Refused(caller, Denial.GrantUnusedOrInvalid, Err.ELOOP);
                    grantee = granter;
                    granter = e.Granter;
                    grantId = e.GrantId;
                    continue;
                case Grant.Direct:
                    break;
                default:
                    return Refused(caller, Denial.GrantUnusedOrInvalid, Err.EPERM);
            }
            if ((rights & access) != access)
                return Refused(caller, Denial.GrantAccessViolation, Err.EPERM);
            if (!g.Arena.Contains(e.Start, e.Length))
                return Refused(caller, Denial.GrantUnusedOrInvalid, Err.EPERM);
            if (offset < 0 || length < 0 || offset > e.Length || length > e.Length - offset)
                return Refused(caller, Denial.GrantRegionExceeds, Err.EPERM);
            root = g;
            at = e.Start + offset;
            return Err.Ok;
        }
    }
}
