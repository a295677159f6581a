// The sequence every request with out-of-message data repeats — allocate an arena block, grant
// one process access to it, send the request, revoke the grant, free the block — as one
// disposable: `using var b = ...; b.Span...; SENDREC with b.Grant` (revoke and free on Dispose).
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Grants;

public sealed class GrantedBuffer : IDisposable
{
    private long _offset;

    /// <summary>The grant id to put in the request.</summary>
    public int Grant { get; private set; } = -1;
    public int Length { get; }
    /// <summary>Arena offset of the block (for calls that take one, such as SPAWN's image).</summary>
    public long Offset => _offset;
    public Span<byte> Span => Channel.Current.Arena.Slice((int)_offset, Length);

    private GrantedBuffer(long offset, int length)
    {
        _offset = offset;
        Length = length;
    }

    /// <summary>A zeroed block of <paramref name="length"/> bytes that <paramref name="grantee"/>
    /// may access as <paramref name="access"/> says (Grant.Read/Write): OK, or ENOMEM or the
    /// grant table's error (and nothing held).</summary>
    public static int Create(int grantee, long length, int access, out GrantedBuffer? buffer)
    {
        buffer = null;
        if (length is <= 0 or > int.MaxValue) return Err.EINVAL;
        long at = ArenaHeap.Allocate(length);
        if (at < 0) return Err.ENOMEM;
        var b = new GrantedBuffer(at, (int)length);
        b.Span.Clear();
        int g = GrantTable.Current.Direct(grantee, at, length, access);
        if (g < 0)
        {
            b.Dispose();
            return g;
        }
        b.Grant = g;
        buffer = b;
        return Err.Ok;
    }

    public void Dispose()
    {
        if (Grant >= 0) GrantTable.Current.Revoke(Grant);
        if (_offset >= 0) ArenaHeap.Free(_offset);
        Grant = -1;
        _offset = -1;
    }
}
