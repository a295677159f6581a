// Counters of the engine for `stats --net`: frames in and out, and one drop counter per
// DropReason. Plain longs, written only by the engine's single thread.
namespace Bulkhead.Servers.Inet;

public sealed class NetStats
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    public long FramesIn { get; internal set; }
    public long FramesOut { get; internal set; }
    public long TcpRetransmits { get; internal set; }
    public long TcpFastRetransmits { get; internal set; }
    public long TcpTimeouts { get; internal set; }

    public long this[DropReason reason] => _drops[(int)reason];

    public long TotalDrops => _drops.Sum();

    internal void Drop(DropReason reason) => _drops[(int)reason]++;

    /// <summary>"reason count" lines for every non-zero drop counter, in enum order.</summary>
    public IEnumerable<(DropReason Reason, long Count)> NonZeroDrops()
    {
        for (int i = 0; i < _drops.Length; i++)
            if (_drops[i] != 0) yield return ((DropReason)i, _drops[i]);
    }
}
