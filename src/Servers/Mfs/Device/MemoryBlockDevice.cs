// A block device in memory: a RAM disk for tests and for building an image before it is
// written out. Reads and writes outside the device fail (false), as a real disk's would.
namespace Bulkhead.Servers.Mfs.Device;

public sealed class MemoryBlockDevice(int size) : IBlockDevice
{
    private readonly byte[] _bytes = new byte[size];

    public long Size => _bytes.Length;
    /// <summary>The device's contents, for tests that inspect or corrupt an image.</summary>
    public byte[] Bytes => _bytes;

    public bool Read(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset > _bytes.Length - buffer.Length) return false;
        _bytes.AsSpan((int)offset, buffer.Length).CopyTo(buffer);
        return true;
    }

    public bool Write(long offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset > _bytes.Length - data.Length) return false;
        data.CopyTo(_bytes.AsSpan((int)offset));
        return true;
    }

    public bool Flush() => true;
}
