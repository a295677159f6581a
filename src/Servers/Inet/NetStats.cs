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

    /// <summary>The dump for `stats --net`: one "name value" line per counter, drops only when non-zero.</summary>
    public string Format()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("frames-in ").Append(FramesIn).Append('\n');
        sb.Append("frames-out ").Append(FramesOut).Append('\n');
        sb.Append("tcp-retransmits ").Append(TcpRetransmits).Append('\n');
        sb.Append("tcp-fast-retransmits ").Append(TcpFastRetransmits).Append('\n');
        sb.Append("tcp-timeouts ").Append(TcpTimeouts).Append('\n');
        foreach (var (reason, count) in NonZeroDrops()) sb.Append("drop ").Append(reason).Append(' ').Append(count).Append('\n');
        return sb.ToString();
    }

    /// <summary>"reason count" lines for every non-zero drop counter, in enum order.</summary>
    public IEnumerable<(DropReason Reason, long Count)> NonZeroDrops()
    {
        for (int i = 0; i < _drops.Length; i++)
            if (_drops[i] != 0) yield return ((DropReason)i, _drops[i]);
    }
}
