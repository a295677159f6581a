// A Stream over a VFS descriptor (Files), for commands that also read or write the host's
// stdin/stdout: the same code copies either. Errors become IOException with the Err name.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Vfs;

public sealed class VfsStream : Stream
{
    private readonly int _fd;
    private readonly bool _owns;

    public VfsStream(int fd, bool ownsFd = true)
    {
        _fd = fd;
        _owns = ownsFd;
    }

    public int Fd => _fd;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int r = Files.Read(_fd, buffer);
        if (r < 0) throw new IOException($"read: {Err.Name(r)}", r);
        return r;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        int r = Files.Write(_fd, buffer);
        if (r < 0) throw new IOException($"write: {Err.Name(r)}", r);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _owns) Files.Close(_fd);
        base.Dispose(disposing);
    }
}
