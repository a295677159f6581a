// A block device over a host file (an image made by mkfs.minix, or one the mkfs command
// writes). Size is the file's length at open; I/O errors of the host become false.
using Microsoft.Win32.SafeHandles;

namespace Bulkhead.Servers.Mfs.Device;

public sealed class FileBlockDevice : IBlockDevice, IDisposable
{
    private readonly SafeFileHandle _file;

    public FileBlockDevice(string path, bool writable = true)
    {
        _file = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read);
        Size = RandomAccess.GetLength(_file);
    }

    public long Size { get; }

    public bool Read(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset > Size - buffer.Length) return false;
        try
        {
            return RandomAccess.Read(_file, buffer, offset) == buffer.Length;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public bool Write(long offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset > Size - data.Length) return false;
        try
        {
            RandomAccess.Write(_file, data, offset);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public bool Flush()
    {
        try
        {
            RandomAccess.FlushToDisk(_file);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Dispose() => _file.Dispose();
}
