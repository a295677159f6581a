// How an engine is mounted: cache size, read-ahead, read-only, the clock for time stamps, and
// the POSIX limits a server may lower (tests lower LinkMax to reach EMLINK quickly).
namespace Bulkhead.Servers.Mfs;

public sealed record MfsOptions
{
    /// <summary>Blocks the buffer cache may hold (at least BufferCache.MinCapacity).</summary>
    public int CacheBlocks { get; init; } = 1024;
    /// <summary>Blocks read in one go when a sequential read misses the cache; 0 or 1 turns read-ahead off. At most CacheBlocks/2 are used.</summary>
    public int ReadAheadBlocks { get; init; } = 8;
    /// <summary>Refuse every change with EROFS and never write the device.</summary>
    public bool ReadOnly { get; init; }
    /// <summary>Seconds since the epoch for atime/mtime/ctime; the server passes its own clock.</summary>
    public Func<uint> Clock { get; init; } = () => (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    /// <summary>Most links to one inode (MINIX's LINK_MAX is SHRT_MAX).</summary>
    public int LinkMax { get; init; } = short.MaxValue;
    /// <summary>Most symbolic links followed in one path lookup before ELOOP (MINIX's SYMLOOP_MAX).</summary>
    public int SymlinkDepth { get; init; } = 16;
}
