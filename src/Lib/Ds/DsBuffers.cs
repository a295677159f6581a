// The client's two arena buffers for DS calls (a key buffer and a value buffer), allocated
// once from the arena heap, and the grants that expose them to DS for one call. Only
// DsClient uses it, under its lock. The key buffer is larger than the longest valid key so
// that an over-long key reaches DS and is refused there (EINVAL) like any other bad input.
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Ds;

internal sealed class DsBuffers
{
    public const int Read = Grant.Read;
    public const int Write = Grant.Write;
    public const int KeyBufferSize = 256;

    private static DsBuffers? s_buffers;

    public long KeyOffset { get; }
    public long ValueOffset { get; }

    private DsBuffers(long keyOffset, long valueOffset)
    {
        KeyOffset = keyOffset;
        ValueOffset = valueOffset;
    }

    public Span<byte> Key => Channel.Current.Arena.Slice((int)KeyOffset, KeyBufferSize);
    public Span<byte> Value => Channel.Current.Arena.Slice((int)ValueOffset, DsLimits.MaxMemLength);

    /// <summary>The buffers, allocated on first use. Caller holds DsClient's lock.</summary>
    public static DsBuffers Get()
    {
        if (s_buffers is { } b) return b;
        long at = ArenaHeap.Allocate(KeyBufferSize + DsLimits.MaxMemLength);
        if (at < 0) throw new InvalidOperationException("ds: no arena space for the client buffers");
        return s_buffers = new DsBuffers(at, at + KeyBufferSize);
    }

    /// <summary>A direct grant of [offset, offset+length) to DS; a grant id, or a negative Err.</summary>
    public static int Expose(long offset, int length, int access) =>
        GrantTable.Current.Direct(Endpoint.Ds, offset, length, access);

    public static void Revoke(int grant) => GrantTable.Current.Revoke(grant);
}
