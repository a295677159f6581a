// Counters of the buffer cache, for tests and for the server's statistics dump.
namespace Bulkhead.Servers.Mfs.Cache;

public sealed class CacheStats
{
    public long Hits { get; internal set; }
    public long Misses { get; internal set; }
    public long DeviceReads { get; internal set; }
    public long DeviceWrites { get; internal set; }
    public long ReadAheadBlocks { get; internal set; }
    public long Evictions { get; internal set; }
    public long WriteErrors { get; internal set; }
    /// <summary>The most blocks the cache ever held at once.</summary>
    public int HighWater { get; internal set; }
}
