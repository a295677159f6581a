// A file server's view of one minor of a block driver (thesis §4.3.1, "Recovering Block-device
// Drivers"; Fig. 3.6): Read, Write and Flush of byte ranges, with the driver's failures hidden
// behind them. Interface: Open(label, minor, writable, out client) finds the driver by its DS
// label, opens the minor and asks its geometry; Read/Write return the bytes moved (short only at
// the end of the minor) or a negative Err; Flush; counters of what recovery did.
// How a request travels: the data goes through a staging buffer in the client's arena, granted
// to the current driver instance (a write grant for reads, a read grant for writes); the request
// goes out with SENDA, so the client never blocks on the untrusted driver, and its answer is
// awaited with a deadline (BlockClient.Wait.cs). While waiting the process stays alive: RS's
// heartbeats are answered, and every other message is kept for the owning ServerLoop (Defer).
// Recovery (BlockClient.Recovery.cs): the driver died (DS names another endpoint for its label,
// or the label is gone), forgot our open (EBADF from a new instance), or failed (no answer by
// the deadline, an answer that is not the answer to our request): the client complains to RS
// when the driver misbehaved, waits — on DS notifications, never spinning — for the label to
// name a new instance, grants it the staging buffer, reopens the minor and sends the request
// again (block I/O is idempotent). A request gets EIO after MaxAttempts sends, or when no
// driver came back within RecoveryTimeoutMs. Transfers longer than the staging buffer (and
// MaxTransfer) are split into several requests.
// Rules: nothing from the driver is trusted — an answer must come from the current instance,
// name our request's type and Id, carry a plausible result, and move exactly the bytes the
// minor has there; the client has one request in flight, a fixed staging buffer, and no queue
// of its own (messages kept for the loop are bounded by ServerLoop.MaxDeferred, beyond it a
// request is answered EAGAIN). Positions and lengths are multiples of the sector size (EINVAL).
// Not thread-safe: one thread (the server's main loop) uses a client. A process has one alarm:
// the client borrows it while waiting and gives the owner's back (BlockClient.Wait.cs).
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Block;

public sealed partial class BlockClient : IDisposable
{
    /// <summary>Longest label accepted (DS keys are at most 80 bytes, "drv.blk." included).</summary>
    public const int MaxLabelLength = 64;

    private readonly string _label;
    private readonly int _minor;
    private readonly int _access;
    private readonly BlockClientOptions _options;
    private long _staging = -1;
    private bool _disposed;

    private BlockClient(string label, int minor, bool writable, BlockClientOptions options)
    {
        _label = label;
        _minor = minor;
        _access = BlockDriverCall.AccessRead | (writable ? BlockDriverCall.AccessWrite : 0);
        _options = options;
    }

    /// <summary>Bytes of the minor (from IoctlGeometry at Open).</summary>
    public long Size { get; private set; }
    public int SectorSize { get; private set; }
    /// <summary>Restarts of the driver this client lived through (new instances it reattached to).</summary>
    public long DriverRestarts { get; private set; }
    /// <summary>Requests sent again after a restart, a failure or an error answer.</summary>
    public long Reissued { get; private set; }
    /// <summary>Complaints to RS about the driver (accepted or not).</summary>
    public long Complaints { get; private set; }
    /// <summary>Answers dropped as answers to requests given up on earlier.</summary>
    public long StaleAnswers { get; private set; }
    /// <summary>Messages for the owner that could not be kept (no loop, or its queue full).</summary>
    public long Refused { get; private set; }
    /// <summary>Reopens that found the minor's contents lost (a RAM disk whose driver restarted).</summary>
    public long ContentsLost { get; private set; }
    // What the driver did wrong, by the kinds of thesis Fig. 5.9 ("filter-driver output").
    /// <summary>Requests sent to the driver (each attempt counts).</summary>
    public long Sent { get; private set; }
    /// <summary>Requests the kernel could not deliver: the driver was dead when sending.</summary>
    public long DeadWhenSending { get; private set; }
    /// <summary>Requests the driver did not answer within AnswerTimeoutMs.</summary>
    public long Timeouts { get; private set; }
    /// <summary>Answers that were not the answer asked for: another request's, a request
    /// instead of an answer, an impossible result or byte count.</summary>
    public long UnexpectedAnswers { get; private set; }
    /// <summary>Requests the driver answered with an error (EIO, EAGAIN, ...): a legitimate
    /// request failed.</summary>
    public long ErrorAnswers { get; private set; }

    public string Label => _label;
    public int Minor => _minor;
    /// <summary>The driver instance the client talks to now.</summary>
    public int DriverEndpoint => _endpoint;

    /// <summary>Opens <paramref name="minor"/> of the driver that DS knows as <paramref name="label"/>
    /// (read-only unless <paramref name="writable"/>): Err.Ok and the client, or a negative Err
    /// (EINVAL for bad arguments, ESRCH for an unknown label, the driver's answer, EIO).</summary>
    public static int Open(string label, int minor, bool writable, out BlockClient? client) =>
        Open(label, minor, writable, BlockClientOptions.Default, out client);

    public static int Open(string label, int minor, bool writable, BlockClientOptions options, out BlockClient? client)
    {
        client = null;
        if (options is null || options.Check() != Err.Ok) return Err.EINVAL;
        if (!ValidLabel(label) || minor < 0) return Err.EINVAL;
        int r = DsClient.RetrieveLabel(label, out int first);
        if (r != Err.Ok) return r;
        if (Endpoint.IsSpecial(first)) return Err.EINVAL;
        long staging = ArenaHeap.Allocate(options.StagingBytes);
        if (staging < 0) return Err.ENOMEM;
        var c = new BlockClient(label, minor, writable, options) { _staging = staging };
        c.Subscribe();
        r = c.Request(BlockDriverCall.Ioctl, new BlockRequest { Ioctl = BlockDriverCall.IoctlGeometry }, 0, out var geometry);
        if (r == Err.Ok && !PlausibleGeometry(geometry))
        {
            SysCall.Diag($"blockclient: {label} minor {minor}: implausible geometry (size {geometry.Size}, sector {geometry.SectorSize})");
            r = Err.EIO;
        }
        if (r != Err.Ok)
        {
            c.Dispose();
            return r;
        }
        c.Size = geometry.Size;
        c.SectorSize = geometry.SectorSize;
        client = c;
        return Err.Ok;
    }

    /// <summary>Reads from byte <paramref name="position"/> into <paramref name="buffer"/>: the bytes
    /// read (fewer only at the end of the minor) or a negative Err.</summary>
    public int Read(long position, Span<byte> buffer)
    {
        int r = CheckRange(position, buffer.Length, BlockDriverCall.AccessRead);
        if (r != Err.Ok) return r;
        int done = 0;
        while (done < buffer.Length)
        {
            int n = Math.Min(buffer.Length - done, _options.StagingBytes);
            // A driver that answers OK without filling the grant must not hand the caller what
            // an earlier read left in the staging buffer (another file's data, or the very
            // bytes a filter's read-back is checking for): it reads as zeros.
            Staging[..n].Clear();
            int got = Transfer(BlockDriverCall.Read, position + done, n);
            if (got < 0) return got;
            Staging[..got].CopyTo(buffer[done..]);
            done += got;
            if (got < n) break;
        }
        return done;
    }

    /// <summary>Writes <paramref name="data"/> at byte <paramref name="position"/>: the bytes
    /// written (fewer only at the end of the minor) or a negative Err.</summary>
    public int Write(long position, ReadOnlySpan<byte> data)
    {
        int r = CheckRange(position, data.Length, BlockDriverCall.AccessWrite);
        if (r != Err.Ok) return r;
        int done = 0;
        while (done < data.Length)
        {
            int n = Math.Min(data.Length - done, _options.StagingBytes);
            data.Slice(done, n).CopyTo(Staging);
            int put = Transfer(BlockDriverCall.Write, position + done, n);
            if (put < 0) return put;
            done += put;
            if (put < n) break;
        }
        return done;
    }

    /// <summary>For the owner's ServerLoop.OnAnswer: true (and counted) when <paramref name="m"/> is
    /// an answer from this client's driver that arrived outside a wait — a late answer to a request
    /// the client gave up on, to be dropped, never dispatched (answering it would start an exchange
    /// of error replies with the driver's own loop).</summary>
    public bool TakeLateAnswer(in Message m)
    {
        if (m.Source != _endpoint || m.Type > Err.Ok || IpcCall.IsNotify(m)) return false;
        StaleAnswers++;
        return true;
    }

    /// <summary>Asks the driver to put its write cache on the medium: OK or a negative Err.</summary>
    public int Flush()
    {
        if (_disposed) return Err.EBADF;
        return Request(BlockDriverCall.Flush, default, 0, out _);
    }

    /// <summary>Closes the minor (waiting briefly for the answer, so that it does not reach the
    /// owner's loop), revokes the grants and frees the staging buffer.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_opened && !_failed) CloseQuietly();
        RevokeGrants();
        if (_staging >= 0) ArenaHeap.Free(_staging);
        _staging = -1;
    }

    private Span<byte> Staging => Channel.Current.Arena.Slice((int)_staging, _options.StagingBytes);

    /// <summary>One request of at most the staging buffer: the bytes moved, checked against what
    /// the minor has at <paramref name="position"/>, or a negative Err.</summary>
    private int Transfer(int type, long position, int count)
    {
        int r = Request(type, new BlockRequest { Position = position, Count = count }, count, out var reply);
        return r != Err.Ok ? r : reply.Count;
    }

    private int CheckRange(long position, int length, int access)
    {
        if (_disposed) return Err.EBADF;
        if ((_access & access) == 0) return Err.EBADF;
        if (position < 0 || length < 0 || position > long.MaxValue - length) return Err.EINVAL;
        if (position % SectorSize != 0 || length % SectorSize != 0) return Err.EINVAL;
        return Err.Ok;
    }

    private static bool ValidLabel(string label) =>
        label is { Length: > 0 and <= MaxLabelLength } && label.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' or '.');

    private static bool PlausibleGeometry(in BlockReply g) =>
        g.SectorSize is > 0 and <= 4096 && (g.SectorSize & (g.SectorSize - 1)) == 0 && g.Size >= 0 && g.Size % g.SectorSize == 0;
}
