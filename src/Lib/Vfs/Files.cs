// The file library of Bulkhead programs (docs/vfs.md "The library"): POSIX-shaped calls over
// VFS's protocol (VfsCall), each returning OK, a count or a descriptor, or a negative Err —
// never an exception. Paths are strings (UTF-8 on the wire); descriptors are VFS's, apart from
// the program's host stdin/stdout/stderr, which the library does not touch. Data moves through
// one transfer buffer per process (VfsCall.MaxTransfer bytes of the arena, granted to VFS for
// reading and writing) and paths through two small read-only buffers, all made on first use;
// Read and Write move at most MaxTransfer bytes a call (Write loops until all is written, so a
// pipe's partial writes are hidden). If VFS dies, the call in progress ends with EDEADSRCDST and
// the next call finds the restarted VFS through DS (descriptors died with the old one).
// The library is meant for one thread of a program at a time.
using System.Text;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Vfs;

public static class Files
{
    /// <summary>rw-r--r--, the mode Open and Mknod give a new file by default.</summary>
    public const int DefaultMode = 0x1A4;
    /// <summary>rwxr-xr-x, Mkdir's default.</summary>
    public const int DefaultDirMode = 0x1ED;

    private static int s_vfs = Endpoint.None;
    private static GrantedBuffer? s_data;
    private static readonly GrantedBuffer?[] s_paths = new GrantedBuffer?[3];

    private static int Vfs(out int endpoint)
    {
        endpoint = s_vfs;
        if (endpoint != Endpoint.None) return Err.Ok;
        int r = DsClient.RetrieveLabel(VfsCall.Label, out endpoint);
        if (r == Err.Ok) s_vfs = endpoint;
        return r;
    }

    private static void Reset()
    {
        s_vfs = Endpoint.None;
        s_data?.Dispose();
        s_data = null;
        for (int i = 0; i < s_paths.Length; i++)
        {
            s_paths[i]?.Dispose();
            s_paths[i] = null;
        }
    }

    /// <summary>One call to VFS: SENDREC, the answer's m_type as the result.</summary>
    private static int Call(int type, in VfsRequest req, out Message reply)
    {
        reply = Message.Of(type, req);
        int r = Vfs(out int vfs);
        if (r != Err.Ok) return r;
        r = IpcCall.SendRec(vfs, ref reply);
        if (r != Err.Ok)
        {
            if (r is Err.EDEADSRCDST or Err.EDEADEPT or Err.EBADEPT) Reset();
            return r;
        }
        return reply.Type;
    }

    private static int Call(int type, in VfsRequest req) => Call(type, req, out _);

    private static int Data(out GrantedBuffer buffer)
    {
        buffer = s_data!;
        if (s_data is not null) return Err.Ok;
        int r = Vfs(out int vfs);
        if (r != Err.Ok) return r;
        r = GrantedBuffer.Create(vfs, VfsCall.MaxTransfer, Grant.ReadWrite, out var b);
        if (r != Err.Ok) return r;
        s_data = buffer = b!;
        return Err.Ok;
    }

    /// <summary>Puts <paramref name="path"/> in path buffer <paramref name="slot"/>: its grant and length.</summary>
    private static int PathArg(int slot, string path, out int grant, out int length)
    {
        grant = -1;
        length = Encoding.UTF8.GetByteCount(path);
        if (length > VfsCall.PathMax) return Err.ENAMETOOLONG;
        if (s_paths[slot] is null)
        {
            int r = Vfs(out int vfs);
            if (r != Err.Ok) return r;
            r = GrantedBuffer.Create(vfs, VfsCall.PathMax, Grant.Read, out var b);
            if (r != Err.Ok) return r;
            s_paths[slot] = b;
        }
        var buf = s_paths[slot]!;
        Encoding.UTF8.GetBytes(path, buf.Span);
        grant = buf.Grant;
        return Err.Ok;
    }

    private static int OnPath(int type, string path, VfsRequest req = default)
    {
        int r = PathArg(0, path, out req.Grant, out req.Length);
        return r != Err.Ok ? r : Call(type, req);
    }

    private static int OnTwoPaths(int type, string a, string b)
    {
        var req = default(VfsRequest);
        int r = PathArg(0, a, out req.Grant, out req.Length);
        if (r == Err.Ok) r = PathArg(1, b, out req.Grant2, out req.Length2);
        return r != Err.Ok ? r : Call(type, req);
    }

    public static int Open(string path, int flags, int mode = DefaultMode) =>
        OnPath(VfsCall.Open, path, new VfsRequest { Flags = flags, Mode = mode });

    public static int Close(int fd) => Call(VfsCall.Close, new VfsRequest { Fd = fd });

    /// <summary>Up to min(into.Length, MaxTransfer) bytes at the offset; 0 at the end.</summary>
    public static int Read(int fd, Span<byte> into) => ReadCore(VfsCall.Read, fd, 0, into);

    public static int ReadAt(int fd, long position, Span<byte> into) => ReadCore(VfsCall.PRead, fd, position, into);

    private static int ReadCore(int type, int fd, long position, Span<byte> into)
    {
        int r = Data(out var b);
        if (r != Err.Ok) return r;
        int n = Math.Min(into.Length, b.Length);
        r = Call(type, new VfsRequest { Fd = fd, Grant = b.Grant, Length = n, Position = position });
        if (r > 0) b.Span[..Math.Min(r, n)].CopyTo(into);
        return r > n ? Err.EIO : r;
    }

    /// <summary>Writes all of <paramref name="data"/>: its length, or an error when nothing was written.</summary>
    public static int Write(int fd, ReadOnlySpan<byte> data) => WriteCore(VfsCall.Write, fd, 0, data);

    public static int WriteAt(int fd, long position, ReadOnlySpan<byte> data) => WriteCore(VfsCall.PWrite, fd, position, data);

    private static int WriteCore(int type, int fd, long position, ReadOnlySpan<byte> data)
    {
        int r = Data(out var b);
        if (r != Err.Ok) return r;
        int done = 0;
        do
        {
            int n = Math.Min(data.Length - done, b.Length);
            data.Slice(done, n).CopyTo(b.Span);
            r = Call(type, new VfsRequest { Fd = fd, Grant = b.Grant, Length = n, Position = position + done });
            if (r < 0) return done > 0 ? done : r;
            if (r == 0 && n > 0) return done > 0 ? done : Err.EIO;
            done += r;
        } while (done < data.Length);
        return done;
    }

    public static int Seek(int fd, long offset, int whence, out long position)
    {
        int r = Call(VfsCall.Lseek, new VfsRequest { Fd = fd, Position = offset, Flags = whence }, out var reply);
        position = r == Err.Ok ? reply.As<VfsPositionReply>().Position : -1;
        return r;
    }

    public static int Stat(string path, out VfsStatReply stat) => StatCore(VfsCall.Stat, path, out stat);

    public static int LStat(string path, out VfsStatReply stat) => StatCore(VfsCall.LStat, path, out stat);

    private static int StatCore(int type, string path, out VfsStatReply stat)
    {
        stat = default;
        var req = default(VfsRequest);
        int r = PathArg(0, path, out req.Grant, out req.Length);
        if (r != Err.Ok) return r;
        r = Call(type, req, out var reply);
        if (r == Err.Ok) stat = reply.As<VfsStatReply>();
        return r;
    }

    public static int FStat(int fd, out VfsStatReply stat)
    {
        int r = Call(VfsCall.FStat, new VfsRequest { Fd = fd }, out var reply);
        stat = r == Err.Ok ? reply.As<VfsStatReply>() : default;
        return r;
    }

    /// <summary>Raw FsDirent records of an open directory; 0 at the end.</summary>
    public static int GetDents(int fd, Span<byte> into) => ReadCore(VfsCall.GetDents, fd, 0, into);

    /// <summary>The entries of a directory (names and inode numbers, "." and ".." included).</summary>
    public static int ReadDirectory(string path, List<(string Name, uint Ino)> entries)
    {
        int fd = Open(path, VfsCall.O_RDONLY | VfsCall.O_DIRECTORY);
        if (fd < 0) return fd;
        var buf = new byte[16 * 1024];
        int r;
        while ((r = GetDents(fd, buf)) > 0)
        {
            for (int at = 0; at + FsDirent.HeaderSize <= r;)
            {
                uint ino = BitConverter.ToUInt32(buf, at);
                int rec = BitConverter.ToUInt16(buf, at + 4);
                int len = buf[at + 6];
                if (rec < FsDirent.HeaderSize || at + rec > r || FsDirent.HeaderSize + len > rec) return Fail(fd, Err.EIO);
                entries.Add((Encoding.UTF8.GetString(buf, at + FsDirent.HeaderSize, len), ino));
                at += rec;
            }
        }
        Close(fd);
        return r < 0 ? r : Err.Ok;
    }

    private static int Fail(int fd, int r)
    {
        Close(fd);
        return r;
    }

    public static int Mkdir(string path, int mode = DefaultDirMode) => OnPath(VfsCall.Mkdir, path, new VfsRequest { Mode = mode });
    public static int Mknod(string path, int mode, uint dev) => OnPath(VfsCall.Mknod, path, new VfsRequest { Mode = mode, Owner = (int)dev });
    public static int Rmdir(string path) => OnPath(VfsCall.Rmdir, path);
    public static int Unlink(string path) => OnPath(VfsCall.Unlink, path);
    public static int Rename(string from, string to) => OnTwoPaths(VfsCall.Rename, from, to);
    public static int Link(string existing, string name) => OnTwoPaths(VfsCall.Link, existing, name);
    public static int Symlink(string target, string name) => OnTwoPaths(VfsCall.Symlink, target, name);
    public static int Chdir(string path) => OnPath(VfsCall.Chdir, path);
    public static int Fchdir(int fd) => Call(VfsCall.Fchdir, new VfsRequest { Fd = fd });
    public static int Chmod(string path, int mode) => OnPath(VfsCall.Chmod, path, new VfsRequest { Mode = mode });
    public static int Chown(string path, int owner, int group) => OnPath(VfsCall.Chown, path, new VfsRequest { Owner = owner, Group = group });
    public static int Truncate(string path, long size) => OnPath(VfsCall.Truncate, path, new VfsRequest { Position = size });
    public static int Ftruncate(int fd, long size) => Call(VfsCall.Ftruncate, new VfsRequest { Fd = fd, Position = size });
    public static int Fsync(int fd) => Call(VfsCall.Fsync, new VfsRequest { Fd = fd });
    public static int Dup(int fd) => Call(VfsCall.Dup, new VfsRequest { Fd = fd });
    public static int Dup2(int fd, int to) => Call(VfsCall.Dup2, new VfsRequest { Fd = fd, Fd2 = to });
    public static int Sync() => Call(VfsCall.Sync, default);
    public static int Umount(string point) => OnPath(VfsCall.Umount, point);

    public static int ReadLink(string path, out string target)
    {
        target = "";
        int r = Data(out var b);
        if (r != Err.Ok) return r;
        var req = new VfsRequest { Grant2 = b.Grant, Length2 = VfsCall.PathMax };
        r = PathArg(0, path, out req.Grant, out req.Length);
        if (r != Err.Ok) return r;
        r = Call(VfsCall.ReadLink, req);
        if (r > VfsCall.PathMax) return Err.EIO;
        if (r >= 0) target = Encoding.UTF8.GetString(b.Span[..r]);
        return r;
    }

    public static int Pipe(out int readFd, out int writeFd)
    {
        int r = Call(VfsCall.Pipe, default, out var reply);
        var p = reply.As<VfsPipeReply>();
        (readFd, writeFd) = r == Err.Ok ? (p.ReadFd, p.WriteFd) : (-1, -1);
        return r;
    }

    /// <summary>Mounts file server <paramref name="label"/> with <paramref name="device"/> (a block
    /// special file, or LABEL:MINOR) on <paramref name="point"/>.</summary>
    public static int Mount(string device, string point, string label, bool readOnly)
    {
        var req = new VfsRequest { Flags = readOnly ? VfsCall.MountReadOnly : 0 };
        int r = PathArg(0, device, out req.Grant, out req.Length);
        if (r == Err.Ok) r = PathArg(1, point, out req.Grant2, out req.Length2);
        if (r == Err.Ok) r = PathArg(2, label, out req.Grant3, out req.Length3);
        return r != Err.Ok ? r : Call(VfsCall.Mount, req);
    }

    public static int StatFs(string path, out FsStatFsReply stat)
    {
        stat = default;
        var req = default(VfsRequest);
        int r = PathArg(0, path, out req.Grant, out req.Length);
        if (r != Err.Ok) return r;
        r = Call(VfsCall.StatFs, req, out var reply);
        if (r == Err.Ok) stat = reply.As<FsStatFsReply>();
        return r;
    }
}
