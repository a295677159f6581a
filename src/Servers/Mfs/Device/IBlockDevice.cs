// The disk under a file system: a flat array of bytes read and written in whole file-system
// blocks. The MFS server implements it over the block-driver protocol (grants, SENDA):
// DriverBlockDevice, over a BlockClient (src/Lib/Block), which also hides the driver's restarts
// and failures (thesis §4.3.1); tests implement it over a host image file (FileBlockDevice) and
// in memory.
// Rules: offsets and lengths the engine passes are multiples of its block size and inside Size.
// A device never throws for an I/O failure: it answers false, and the engine turns that into
// EIO for the caller. Flush returns once everything written so far is on stable storage.
namespace Bulkhead.Servers.Mfs.Device;

public interface IBlockDevice
{
    /// <summary>Size of the device in bytes.</summary>
    long Size { get; }

    /// <summary>Fills <paramref name="buffer"/> from byte <paramref name="offset"/>; false on an I/O error.</summary>
    bool Read(long offset, Span<byte> buffer);

    /// <summary>Writes <paramref name="data"/> at byte <paramref name="offset"/>; false on an I/O error.</summary>
    bool Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Makes earlier writes durable; false on an I/O error.</summary>
    bool Flush();
}

public static class BlockDeviceExtensions
{
    /// <summary>Reads block <paramref name="block"/> of <paramref name="buffer"/>.Length bytes.</summary>
    public static bool ReadBlock(this IBlockDevice device, long block, Span<byte> buffer) =>
        device.Read(block * buffer.Length, buffer);

    /// <summary>Writes block <paramref name="block"/> of <paramref name="data"/>.Length bytes.</summary>
    public static bool WriteBlock(this IBlockDevice device, long block, ReadOnlySpan<byte> data) =>
        device.Write(block * data.Length, data);
}
