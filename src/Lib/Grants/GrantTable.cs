// The component's grant table (MINIX libsys cpf_*): GrantEntry slots in the component's own
// arena, placed lazily with ArenaHeap on the first grant and registered with SETGRANT. One per
// process (GrantTable.Current), bounded (Capacity entries, fixed at placement).
// Rules: every argument is checked before an entry changes, and an entry is published by
// writing its fields first and its flags (USED|VALID) last, so the kernel — which reads the
// table at every copy — never sees a half-made grant; revocation clears the flags first, then
// bumps the slot's sequence number, so the old grant id is dead for good even after the slot is
// reused. A copy that begins after Revoke returns fails; one the kernel is performing at that
// very instant may still complete. Results are grant ids (≥ 0) or negative Err codes.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Grants;

public sealed class GrantTable
{
    public const int DefaultCapacity = 256;

    private static GrantTable? s_current;
    private static readonly object s_currentLock = new();

    private readonly object _lock = new();
    private readonly Stack<int> _freeSlots = new();
    private int _nextUnused;
    private long _offset = -1;
    private bool _registered;

    private GrantTable(int capacity) => Capacity = capacity;

    /// <summary>This process's grant table (placed and registered on first use).</summary>
    public static GrantTable Current
    {
        get
        {
            if (s_current is { } t) return t;
            lock (s_currentLock) return s_current ??= new GrantTable(DefaultCapacity);
        }
    }

    public int Capacity { get; }

    /// <summary>Arena offset of the table, or -1 before the first grant.</summary>
    public long Offset
    {
        get { lock (_lock) return _offset; }
    }

    /// <summary>Grants currently valid.</summary>
    public int InUse
    {
        get { lock (_lock) return _nextUnused - _freeSlots.Count; }
    }

    /// <summary>Places the table in the arena and registers it with the kernel (idempotent).</summary>
    public int Register()
    {
        lock (_lock) return EnsureRegistered();
    }

    /// <summary>Grants <paramref name="grantee"/> (ANY: anyone) <paramref name="access"/> (Grant.Read |
    /// Grant.Write) to [offset, offset+length) of our arena. A grant id, or EINVAL, ENOSPC, or the
    /// error of registering the table.</summary>
    public int Direct(int grantee, long offset, long length, int access)
    {
        if (!ValidGrantee(grantee) || !ValidAccess(access)) return Err.EINVAL;
        long arena = Channel.Current.ArenaSize;
        if (offset < 0 || length < 0 || offset > arena || length > arena - offset) return Err.EINVAL;
        return Publish(grantee, access | Grant.Direct, (ref GrantEntry e) =>
        {
            e.Start = offset;
            e.Length = length;
        });
    }

    /// <summary>Passes on (part of the rights of) grant <paramref name="grantId"/> that
    /// <paramref name="granter"/> gave us, to <paramref name="grantee"/>. The kernel checks the
    /// chain at every use; rights are the minimum along it.</summary>
    public int Indirect(int grantee, int granter, int grantId, int access)
    {
        if (!ValidGrantee(grantee) || !ValidAccess(access)) return Err.EINVAL;
        if (grantId < 0 || Endpoint.IsSpecial(granter)) return Err.EINVAL;
        return Publish(grantee, access | Grant.Indirect, (ref GrantEntry e) =>
        {
            e.Granter = granter;
            e.GrantId = grantId;
        });
    }

    /// <summary>Revokes a grant made by this table: OK, or EINVAL for an id that is not a live grant of ours.</summary>
    public int Revoke(int id)
    {
        if (id < 0) return Err.EINVAL;
        int idx = Grant.Index(id);
        lock (_lock)
        {
            if (!_registered || idx >= _nextUnused) return Err.EINVAL;
            ref var e = ref Channel.Current.At<GrantEntry>(EntryOffset(idx));
            if ((Volatile.Read(ref e.Flags) & Grant.Used) == 0 || e.Seq != Grant.Seq(id)) return Err.EINVAL;
            Volatile.Write(ref e.Flags, 0);
            int seq = Grant.NextSeq(e.Seq);
            e = default;
            e.Seq = seq;
            _freeSlots.Push(idx);
            return Err.Ok;
        }
    }

    private delegate void Fill(ref GrantEntry e);

    private int Publish(int grantee, int flags, Fill fill)
    {
        lock (_lock)
        {
            int r = EnsureRegistered();
            if (r != Err.Ok) return r;
            int idx;
            if (_freeSlots.Count > 0) idx = _freeSlots.Pop();
            else if (_nextUnused < Capacity) idx = _nextUnused++;
            else return Err.ENOSPC;
            ref var e = ref Channel.Current.At<GrantEntry>(EntryOffset(idx));
            int seq = e.Seq is >= 0 and < Grant.MaxSeq ? e.Seq : 0;
            Volatile.Write(ref e.Flags, 0);
            e = default;
            e.Seq = seq;
            e.Grantee = grantee;
            fill(ref e);
            Volatile.Write(ref e.Flags, flags | Grant.Used | Grant.Valid);
            return Grant.MakeId(seq, idx);
        }
    }

    private int EnsureRegistered()
    {
        if (_registered) return Err.Ok;
        if (_offset < 0)
        {
            long at = ArenaHeap.Allocate((long)Capacity * GrantEntry.Size);
            if (at < 0) return (int)at;
            Channel.Current.Arena.Slice((int)at, Capacity * GrantEntry.Size).Clear();
            _offset = at;
        }
        int r = SysCall.SetGrant(_offset, Capacity);
        if (r != Err.Ok) return r;
        _registered = true;
        return Err.Ok;
    }

    private long EntryOffset(int idx) => _offset + (long)idx * GrantEntry.Size;

    private static bool ValidAccess(int access) => access != 0 && (access & ~Grant.ReadWrite) == 0;

    private static bool ValidGrantee(int grantee) => grantee is not (Endpoint.None or Endpoint.Self);
}
