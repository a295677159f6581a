// One end of a copy for the file commands: a VFS descriptor, or the program's host stdin or
// stdout (the terminal, pipe or file of whoever ran it). Read and Write answer a count or a
// negative Err like Files does — a host stream's IOException becomes EIO — so a command copies
// either without exceptions. Read fills as much of the buffer as it can (several VFS reads of at
// most VfsCall.MaxTransfer, or several pipe reads) and is short only at the end of the data.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public sealed class FileEnd : IDisposable
{
    private readonly int _fd = -1;
    private readonly Stream? _host;

    private FileEnd(int fd) => _fd = fd;
    private FileEnd(Stream host) => _host = host;

    public static FileEnd Stdin() => new(Console.OpenStandardInput());
    public static FileEnd Stdout() => new(Console.OpenStandardOutput());

    /// <summary>Opens <paramref name="path"/> in VFS ("-" = stdin or stdout): OK or an Err.</summary>
    public static int Open(string path, int flags, out FileEnd? end)
    {
        end = null;
        if (path == "-")
        {
            end = (flags & VfsCall.O_ACCMODE) == VfsCall.O_RDONLY ? Stdin() : Stdout();
            return Err.Ok;
        }
        int fd = Files.Open(path, flags);
        if (fd < 0) return fd;
        end = new FileEnd(fd);
        return Err.Ok;
    }

    /// <summary>The VFS descriptor, or -1 for a host stream.</summary>
    public int Fd => _fd;

    public int Read(Span<byte> into)
    {
        int done = 0;
        while (done < into.Length)
        {
            int r = ReadOnce(into[done..]);
            if (r < 0) return done > 0 ? done : r;
            if (r == 0) break;
            done += r;
        }
        return done;
    }

    private int ReadOnce(Span<byte> into)
    {
        if (_host is null) return Files.Read(_fd, into);
        try { return _host.Read(into); }
        catch (IOException) { return Err.EIO; }
    }

    public int Write(ReadOnlySpan<byte> data)
    {
        if (_host is null) return Files.Write(_fd, data);
        try
        {
            _host.Write(data);
            _host.Flush();
            return data.Length;
        }
        catch (IOException) { return Err.EIO; }
    }

    public void Dispose()
    {
        if (_host is not null) _host.Dispose();
        else Files.Close(_fd);
    }
}
