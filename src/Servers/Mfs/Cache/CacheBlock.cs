// One block held by the buffer cache: its number, its bytes, whether they differ from the
// disk, and its place in the LRU list.
namespace Bulkhead.Servers.Mfs.Cache;

public sealed class CacheBlock
{
    internal CacheBlock(int blockSize) => Data = new byte[blockSize];

    public long Number { get; internal set; }
    public byte[] Data { get; }
    public bool Dirty { get; internal set; }
    internal LinkedListNode<CacheBlock>? Node { get; set; }
}
