// The references VFS holds on inodes (FsCall, "References"): every FsNodeReply adds one, PutNode
// gives back a count. The server asks this table before it touches an inode a request names: an
// inode VFS holds no reference on is EBADF, whatever the disk says (a restarted server holds
// none, which is how VFS learns it must mount again). The engine keeps its own count through
// Retain/Release, which is what makes an unlinked inode outlive its name; this table mirrors it
// and bounds it.
// Rules: at most MaxInodes distinct inodes and MaxPerInode references on one (ENFILE beyond:
// checked with CanAdd before the request changes anything); counts are always ≥ 1.
namespace Bulkhead.Servers.Mfs.Server;

public sealed class NodeRefs
{
    /// <summary>Distinct inodes VFS may hold at once (MINIX's inode table has a few hundred).</summary>
    public const int MaxInodes = 4096;
    /// <summary>References on one inode (every open file, working directory, mount point).</summary>
    public const int MaxPerInode = 1 << 20;

    private readonly Dictionary<uint, int> _counts = [];

    public int Count => _counts.Count;

    public bool Holds(uint ino) => _counts.ContainsKey(ino);

    public int CountOf(uint ino) => _counts.GetValueOrDefault(ino);

    /// <summary>Whether one more reference on <paramref name="ino"/> (0: an inode not known yet) fits.</summary>
    public bool CanAdd(uint ino) =>
        _counts.TryGetValue(ino, out int n) ? n < MaxPerInode : _counts.Count < MaxInodes;

    public void Add(uint ino)
    {
        if (!CanAdd(ino)) throw new InvalidOperationException($"reference table full at inode {ino}"); // callers check CanAdd first
        _counts[ino] = _counts.GetValueOrDefault(ino) + 1;
    }

    /// <summary>Drops <paramref name="count"/> references (1 ≤ count ≤ CountOf(ino), checked by the caller).</summary>
    public void Drop(uint ino, int count)
    {
        int n = _counts[ino] - count;
        if (n < 0) throw new InvalidOperationException($"inode {ino}: dropping more references than held");
        if (n == 0) _counts.Remove(ino);
        else _counts[ino] = n;
    }

    /// <summary>The inodes held, with their counts (a copy).</summary>
    public List<KeyValuePair<uint, int>> All() => [.. _counts];

    public void Clear() => _counts.Clear();
}
