// A disk's backing store: a host image file of whole 512-byte sectors, the way a NIC's backend
// is a TAP or a socket (ARCHITECTURE.md §4, "Backends"). Interface: Open (create a sparse file
// of the given size when it is missing, else use the one there), Sectors, Read/Write at a byte
// offset inside the disk, Flush. Rules: the file is opened read/write and written through —
// every Write goes to the file (the host's page cache) before it returns, so a crash of the
// kernel process loses nothing written; Flush is fsync, the point after which the data
// survives a crash of the host. A configured size larger than the file grows it sparsely
// (never-written sectors read as zeros, holes cost no disk space); a file larger than the
// configured size is not truncated, its tail is simply beyond the disk. Read/Write take
// offsets the caller has checked against Sectors; a host I/O error comes back as false, never
// as an exception into the device model. The image is not locked: the run directory's boot
// lock keeps two instances off the same relative image, an absolute path shared by two
// instances is the administrator's mistake. Thread-safe (positional I/O on one handle).
using Microsoft.Win32.SafeHandles;

namespace Bulkhead.Machine.Storage;

public sealed class DiskImage : IDisposable
{
    public const int SectorSize = 512;

    /// <summary>The largest disk: 2^48 sectors is LBA48's limit, but ext4 stops files at 16 TiB.</summary>
    public const long MaxBytes = 16L << 40;

    private readonly SafeFileHandle _file;

    private DiskImage(SafeFileHandle file, long sectors, string path, bool created)
    {
        _file = file;
        Sectors = sectors;
        Path = path;
        Created = created;
    }

    /// <summary>Number of 512-byte sectors on the disk.</summary>
    public long Sectors { get; }

    public string Path { get; }

    /// <summary>True when Open made the file.</summary>
    public bool Created { get; }

    /// <summary>Opens <paramref name="path"/> read/write, creating it sparse when it is missing.
    /// <paramref name="bytes"/> is the disk's size (a multiple of 512), or 0 to take the file's
    /// own size (rounded down to whole sectors). Throws IOException or UnauthorizedAccessException
    /// with a readable message when the file cannot be used.</summary>
    public static DiskImage Open(string path, long bytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (bytes < 0 || bytes > MaxBytes || bytes % SectorSize != 0)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"a disk size is a multiple of {SectorSize} bytes up to {MaxBytes}");
        bool created = !File.Exists(path);
        if (created && bytes == 0) throw new IOException($"{path} does not exist and no size was given to create it");
        var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        try
        {
            long length = RandomAccess.GetLength(file);
            if (bytes > length) RandomAccess.SetLength(file, bytes); // a hole: no block is written
            long sectors = (bytes != 0 ? bytes : length) / SectorSize;
            if (sectors == 0) throw new IOException($"{path} is smaller than one sector and no size was given");
            return new DiskImage(file, sectors, path, created);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Reads <c>destination.Length</c> bytes at <paramref name="offset"/> (inside the disk);
    /// bytes past the file's end read as zeros. False on a host I/O error.</summary>
    public bool Read(long offset, Span<byte> destination)
    {
        try
        {
            int done = 0;
            while (done < destination.Length)
            {
                int n = RandomAccess.Read(_file, destination[done..], offset + done);
                if (n == 0)
                {
                    destination[done..].Clear();
                    break;
                }
                done += n;
            }
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/> (inside the disk) to the
    /// file. False on a host I/O error (disk full, …).</summary>
    public bool Write(long offset, ReadOnlySpan<byte> source)
    {
        try
        {
            RandomAccess.Write(_file, source, offset);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Makes everything written so far durable (fsync). False on a host I/O error.</summary>
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
