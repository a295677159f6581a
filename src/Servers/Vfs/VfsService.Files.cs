// Descriptor calls (docs/vfs.md "Calls"): open, close, read, write, lseek, pread, pwrite,
// fstat, getdents, ftruncate, fsync, dup, dup2, pipe. A read or write moves at most
// VfsCall.MaxTransfer bytes (the library loops); regular files go to their file server, device
// files to their driver (Device), pipes to their ring (VfsService.Pending.cs, where a call that
// must wait is kept).
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed partial class VfsService
{
    private readonly byte[] _deviceData = new byte[VfsCall.MaxTransfer];

    private int DoOpen(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int flags = req.Flags;
        if ((flags & ~VfsCall.OpenFlags) != 0 || (flags & VfsCall.O_ACCMODE) == VfsCall.O_ACCMODE) return Err.EINVAL;
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string path);
        if (r != Err.Ok) return r;
        int fd = p.FreeFd();
        if (fd < 0) return Err.EMFILE;
        if (_openFiles >= VfsCall.MaxOpenFiles) return Err.ENFILE;
        bool follow = (flags & VfsCall.O_NOFOLLOW) == 0;
        Vnode? node;
        if ((flags & VfsCall.O_CREAT) != 0)
        {
            r = Create(p, path, FsMode.Regular | (req.Mode & FsMode.PermissionMask), 0, out node);
            if (r == Err.EEXIST && (flags & VfsCall.O_EXCL) == 0) r = Walk(p, path, follow, out node);
        }
        else
        {
            r = Walk(p, path, follow, out node);
        }
        if (r != Err.Ok) return r;
        var f = new OpenFile(node, null, flags & (VfsCall.O_ACCMODE | VfsCall.O_APPEND | VfsCall.O_NONBLOCK));
        r = CheckOpen(node!, f, flags);
        if (r == Err.Ok && node!.IsDevice) r = OpenDevice(node, f);
        if (r == Err.Ok && (flags & VfsCall.O_TRUNC) != 0 && f.CanWrite && node!.Type == FsMode.Regular)
        {
            r = node.Server.Call(FsCall.Truncate, new FsRequest { Ino = node.Ino, Position = 0 }, out _);
            if (r == Err.Ok) node.Size = 0;
        }
        if (r != Err.Ok)
        {
            if (f.Device is { } d) PutDevice(d);
            Put(node!);
            return r;
        }
        p.Fds[fd] = f;
        _openFiles++;
        return fd;
    }

    private static int CheckOpen(Vnode node, OpenFile f, int flags)
    {
        if (node.IsSymlink) return Err.ELOOP; // O_NOFOLLOW on a link
        if ((flags & VfsCall.O_DIRECTORY) != 0 && !node.IsDirectory) return Err.ENOTDIR;
        if (node.IsDirectory && (f.CanWrite || (flags & VfsCall.O_TRUNC) != 0)) return Err.EISDIR;
        if (node.Type == FsMode.Fifo) return Err.ENXIO; // named pipes: not served (docs/vfs.md)
        return Err.Ok;
    }

    /// <summary>Creates a file at <paramref name="path"/> (FsCall.Create): OK and its vnode held
    /// once, EEXIST when the name exists (then nothing held).</summary>
    private int Create(Proc p, string path, int mode, uint rdev, out Vnode? node)
    {
        node = null;
        int r = WalkParent(p, path, out var dir, out string name);
        if (r != Err.Ok) return r;
        var req = Req(dir!.Ino);
        req.Mode = mode;
        req.Rdev = rdev;
        r = dir.Server.CallName(FsCall.Create, req, name, out var reply);
        var fs = dir.Server;
        Put(dir);
        if (r < 0) return r;
        return Take(fs, reply.As<FsNodeReply>(), out node);
    }

    private int DoClose(ref Message m, Proc p)
    {
        int fd = m.As<VfsRequest>().Fd;
        if (FileOf(p, fd) is null) return Err.EBADF;
        CloseFd(p, fd);
        m = default;
        return Err.Ok;
    }

    private void CloseFd(Proc p, int fd)
    {
        var f = p.Fds[fd];
        if (f is null) return;
        p.Fds[fd] = null;
        if (--f.Refs > 0) return;
        _openFiles--;
        if (f.Pipe is { } pipe)
        {
            if (f.CanRead) pipe.Readers--;
            else pipe.Writers--;
            if (pipe.Readers == 0 && pipe.Writers == 0) _pipes--;
            _pipesChanged = true;
        }
        if (f.Device is { } d) PutDevice(d);
        if (f.Node is { } n) Put(n);
    }

    private int DoRead(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        bool positioned = m.Type == VfsCall.PRead;
        if (FileOf(p, req.Fd) is not { CanRead: true } f) return Err.EBADF;
        if (req.Length < 0 || positioned && req.Position < 0) return Err.EINVAL;
        int len = Math.Min(req.Length, VfsCall.MaxTransfer);
        if (f.Pipe is { } pipe) return positioned ? Err.ESPIPE : PipeRead(ref m, p, f, pipe, req, len);
        var node = f.Node!;
        if (node.IsDirectory) return Err.EISDIR;
        long pos = positioned ? req.Position : f.Position;
        int r;
        if (f.Device is { } d)
        {
            r = d.Read(pos, Buffer[..len], Buffer);
        }
        else
        {
            var fs = node.Server;
            r = fs.Call(FsCall.Read, new FsRequest { Ino = node.Ino, Position = pos, Grant = fs.Grant, Length = len }, out _);
            if (r > len) r = Err.EIO; // more than asked: a confused file server
        }
        if (r <= 0) return r;
        int c = SysCall.SafeCopyTo(p.Endpoint, req.Grant, 0, _buffer, r);
        if (c != Err.Ok) return CopyErr(c);
        if (!positioned) f.Position = pos + r;
        m = default;
        return r;
    }

    private int DoWrite(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        bool positioned = m.Type == VfsCall.PWrite;
        if (FileOf(p, req.Fd) is not { CanWrite: true } f) return Err.EBADF;
        if (req.Length < 0 || positioned && req.Position < 0) return Err.EINVAL;
        int len = Math.Min(req.Length, VfsCall.MaxTransfer);
        if (f.Pipe is { } pipe) return positioned ? Err.ESPIPE : PipeWrite(ref m, p, pipe, f, req, len);
        if (len == 0) return 0;
        int c = SysCall.SafeCopyFrom(p.Endpoint, req.Grant, 0, _buffer, len);
        if (c != Err.Ok) return CopyErr(c);
        var node = f.Node!;
        long pos = positioned ? req.Position : f.Position;
        int r;
        if (f.Device is { } d)
        {
            Buffer[..len].CopyTo(_deviceData);
            r = d.Write(pos, _deviceData.AsSpan(0, len), Buffer);
        }
        else
        {
            var fs = node.Server;
            if (!positioned && (f.Flags & VfsCall.O_APPEND) != 0)
            {
                int s = fs.Call(FsCall.Stat, Req(node.Ino), out var st);
                if (s < 0) return s;
                pos = st.As<FsStatReply>().Size;
            }
            if (pos > long.MaxValue - len) return Err.EFBIG;
            r = fs.Call(FsCall.Write, new FsRequest { Ino = node.Ino, Position = pos, Grant = fs.Grant, Length = len }, out var reply);
            if (r > len) r = Err.EIO;
            if (r > 0) node.Size = Math.Max(0, reply.As<FsIoReply>().Size);
        }
        if (r < 0) return r;
        if (!positioned) f.Position = pos + r;
        m = default;
        return r;
    }

    private int DoLseek(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (FileOf(p, req.Fd) is not { } f) return Err.EBADF;
        if (f.Pipe is not null) return Err.ESPIPE;
        long origin;
        switch (req.Flags)
        {
            case VfsCall.SeekSet: origin = 0; break;
            case VfsCall.SeekCur: origin = f.Position; break;
            case VfsCall.SeekEnd:
                if (f.Device is { } d) origin = d.Client.Size;
                else
                {
                    int s = f.Node!.Server.Call(FsCall.Stat, Req(f.Node.Ino), out var st);
                    if (s < 0) return s;
                    origin = st.As<FsStatReply>().Size;
                }
                break;
            default: return Err.EINVAL;
        }
        long to = origin + req.Position;
        if (req.Position > 0 && to < origin) return Err.EINVAL; // overflow
        if (to < 0) return Err.EINVAL;
        f.Position = to;
        m = Message.Of(0, new VfsPositionReply { Position = to });
        return Err.Ok;
    }

    private int DoFStat(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (FileOf(p, req.Fd) is not { } f) return Err.EBADF;
        if (f.Pipe is { } pipe)
        {
            m = Message.Of(0, new VfsStatReply { Ino = (uint)pipe.Id, Mode = FsMode.Fifo | 0x180, Nlinks = 1, Size = pipe.Count, Dev = -1 });
            return Err.Ok;
        }
        return StatOf(f.Node!, ref m);
    }

    /// <summary>The file server's Stat of <paramref name="v"/> as a VfsStatReply in <paramref name="m"/>.</summary>
    private int StatOf(Vnode v, ref Message m)
    {
        int r = v.Server.Call(FsCall.Stat, Req(v.Ino), out var reply);
        if (r < 0) return r;
        var s = reply.As<FsStatReply>();
        short dev = -1;
        foreach (var mt in _mounts)
            if (mt is not null && ReferenceEquals(mt.Server, v.Server)) dev = (short)mt.Index;
        m = Message.Of(0, new VfsStatReply
        {
            Ino = s.Ino, Mode = s.Mode, Nlinks = s.Nlinks, Uid = s.Uid, Gid = s.Gid, Rdev = s.Rdev, Size = s.Size,
            Atime = s.Atime, Mtime = s.Mtime, Ctime = s.Ctime, Dev = dev,
            BlockSizeKiB = (short)Math.Clamp(s.BlockSize / 1024, 0, short.MaxValue), Blocks = s.Blocks,
        });
        return Err.Ok;
    }

    private int DoGetDents(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (FileOf(p, req.Fd) is not { } f) return Err.EBADF;
        if (f.Node is not { IsDirectory: true } node) return Err.ENOTDIR;
        if (req.Length <= 0) return Err.EINVAL;
        int len = Math.Min(req.Length, VfsCall.MaxTransfer);
        var fs = node.Server;
        int r = fs.Call(FsCall.GetDents, new FsRequest { Ino = node.Ino, Position = f.Position, Grant = fs.Grant, Length = len }, out var reply);
        if (r <= 0) return r;
        if (r > len) return Err.EIO;
        int c = SysCall.SafeCopyTo(p.Endpoint, req.Grant, 0, _buffer, r);
        if (c != Err.Ok) return CopyErr(c);
        f.Position = reply.As<FsIoReply>().Position;
        m = default;
        return r;
    }

    private int DoFtruncate(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (FileOf(p, req.Fd) is not { } f) return Err.EBADF;
        if (req.Position < 0) return Err.EINVAL;
        if (!f.CanWrite || f.Node is null || f.Device is not null) return f.Pipe is not null ? Err.EINVAL : Err.EBADF;
        if (f.Node.IsDirectory) return Err.EISDIR;
        m = default;
        return f.Node.Server.Call(FsCall.Truncate, new FsRequest { Ino = f.Node.Ino, Position = req.Position }, out _);
    }

    private int DoFsync(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (FileOf(p, req.Fd) is not { } f) return Err.EBADF;
        m = default;
        if (f.Pipe is not null) return Err.EINVAL;
        if (f.Device is { } d) return d.Client.Flush();
        return f.Node!.Server.Call(FsCall.Sync, default(FsRequest), out _);
    }

    private int DoDup(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (FileOf(p, req.Fd) is not { } f) return Err.EBADF;
        int to;
        if (m.Type == VfsCall.Dup2)
        {
            to = req.Fd2;
            if (to < 0 || to >= p.Fds.Length) return Err.EBADF;
            if (to == req.Fd) return to;
            CloseFd(p, to);
        }
        else
        {
            to = p.FreeFd();
            if (to < 0) return Err.EMFILE;
        }
        p.Fds[to] = f;
        f.Refs++;
        m = default;
        return to;
    }

    private int DoPipe(ref Message m, Proc p)
    {
        int rfd = p.FreeFd();
        int wfd = rfd < 0 ? -1 : p.FreeFd(rfd + 1);
        if (wfd < 0) return Err.EMFILE;
        if (_openFiles + 2 > VfsCall.MaxOpenFiles || _pipes >= MaxPipes) return Err.ENFILE;
        var pipe = new Pipe(_nextPipe++) { Readers = 1, Writers = 1 };
        p.Fds[rfd] = new OpenFile(null, pipe, VfsCall.O_RDONLY);
        p.Fds[wfd] = new OpenFile(null, pipe, VfsCall.O_WRONLY);
        _openFiles += 2;
        _pipes++;
        m = Message.Of(0, new VfsPipeReply { ReadFd = rfd, WriteFd = wfd });
        return Err.Ok;
    }

    // ---- devices ----

    private int OpenDevice(Vnode node, OpenFile f)
    {
        int major = VfsCall.Major(node.Rdev), minor = VfsCall.Minor(node.Rdev);
        if (DeviceMap.Label(major) is not { } label) return Err.ENXIO;
        if (!_devices.TryGetValue((label, minor), out var d))
        {
            if (_devices.Count >= MaxDevices) return Err.ENFILE;
            var options = new Bulkhead.Lib.Block.BlockClientOptions { StagingBytes = 64 * 1024, Loop = _loop };
            int r = Bulkhead.Lib.Block.BlockClient.Open(label, minor, true, options, out var client);
            if (r != Err.Ok) r = Bulkhead.Lib.Block.BlockClient.Open(label, minor, false, options, out client);
            if (r != Err.Ok) return r == Err.ESRCH ? Err.ENXIO : r;
            d = new Device(label, minor, client!);
            _devices[(label, minor)] = d;
        }
        d.Uses++;
        f.Device = d;
        return Err.Ok;
    }

    private void PutDevice(Device d)
    {
        if (--d.Uses > 0) return;
        _devices.Remove((d.Label, d.Minor));
        d.Client.Dispose();
    }
}
