// The knobs of a BlockClient (docs/block.md, "The client"): how long one answer may take, how
// long a driver may stay away, how often one request is tried, how large the staging buffer in
// the client's arena is, and which ServerLoop keeps the messages that arrive while the client
// waits. Defaults suit a disk driver: an answer deadline longer than at_wini's own retry budget
// (3 attempts × 2 s interrupt timeout), MINIX libbdev's 5 attempts, 30 s for RS to bring a
// driver back.
// Rules: Check() refuses any value outside its range before a client uses it (EINVAL).
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Server;

namespace Bulkhead.Lib.Block;

public sealed class BlockClientOptions
{
    public static readonly BlockClientOptions Default = new();

    /// <summary>How long one request may go unanswered before the driver counts as failed.</summary>
    public long AnswerTimeoutMs { get; init; } = 10_000;
    /// <summary>How long a driver that died or failed may take to come back (RS restarts it, DS
    /// names the new endpoint, the minor reopens) before the request gets EIO.</summary>
    public long RecoveryTimeoutMs { get; init; } = 30_000;
    /// <summary>Times one request is sent (the first time included) before it gets EIO.</summary>
    public int MaxAttempts { get; init; } = 5;
    /// <summary>Bytes of the staging buffer in the arena, granted to the driver; a transfer is
    /// split into requests of at most this many bytes (and at most MaxTransfer).</summary>
    public int StagingBytes { get; init; } = 256 * 1024;
    /// <summary>The loop that gets the messages arriving while the client waits; null: the
    /// process's ServerLoop.Current.</summary>
    public ServerLoop? Loop { get; init; }

    public const long MaxTimeoutMs = 3_600_000;
    public const int MaxAttemptsLimit = 100;
    public const int MinStagingBytes = 4096;

    public int Check()
    {
        if (AnswerTimeoutMs is < 1 or > MaxTimeoutMs || RecoveryTimeoutMs is < 1 or > MaxTimeoutMs) return Err.EINVAL;
        if (MaxAttempts is < 1 or > MaxAttemptsLimit) return Err.EINVAL;
        if (StagingBytes < MinStagingBytes || StagingBytes > BlockDriverCall.MaxTransfer || StagingBytes % MinStagingBytes != 0) return Err.EINVAL;
        return Err.Ok;
    }
}
