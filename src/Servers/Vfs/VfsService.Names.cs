// Calls on paths (docs/vfs.md "Calls"): stat, lstat, mkdir, mknod, rmdir, unlink, rename, link,
// symlink, readlink, chdir, fchdir, chmod, chown, truncate. Each walks its path(s) (Path.cs),
// asks the one file server concerned, and puts back every vnode it held. Two names on different
// file systems are EXDEV; a name a file system is mounted on is EBUSY.
using System.Text;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed partial class VfsService
{
    private int DoStat(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string path);
        if (r != Err.Ok) return r;
        r = Walk(p, path, followLast: m.Type == VfsCall.Stat, out var node);
        if (r != Err.Ok) return r;
        r = StatOf(node!, ref m);
        Put(node!);
        return r;
    }

    private int DoMkdir(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string path);
        if (r != Err.Ok) return r;
        Vnode? node;
        if (m.Type == VfsCall.Mknod)
        {
            int type = req.Mode & FsMode.TypeMask;
            if (type is not (FsMode.Regular or FsMode.CharDevice or FsMode.BlockDevice or FsMode.Fifo)) return Err.EINVAL;
            r = Create(p, path, req.Mode & (FsMode.TypeMask | FsMode.PermissionMask), (uint)req.Owner, out node);
        }
        else
        {
            r = WalkParent(p, path, out var dir, out string name);
            if (r == Err.EINVAL || r == Err.EBUSY) return Err.EEXIST;
            if (r != Err.Ok) return r;
            var q = Req(dir!.Ino);
            q.Mode = FsMode.Directory | (req.Mode & FsMode.PermissionMask);
            var fs = dir.Server;
            r = fs.CallName(FsCall.Mkdir, q, name, out var reply);
            Put(dir);
            if (r < 0) return r;
            r = Take(fs, reply.As<FsNodeReply>(), out node);
        }
        if (r != Err.Ok) return r;
        Put(node!);
        m = default;
        return Err.Ok;
    }

    private int DoRemove(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        bool rmdir = m.Type == VfsCall.Rmdir;
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string path);
        if (r != Err.Ok) return r;
        r = WalkParent(p, path, out var dir, out string name);
        if (r == Err.EINVAL && !rmdir) return Err.EISDIR;
        if (r != Err.Ok) return r;
        var fs = dir!.Server;
        // The entry itself: not a mount point, and of the right kind.
        r = fs.CallName(FsCall.Lookup, Req(dir.Ino), name, out var reply);
        if (r >= 0 && Take(fs, reply.As<FsNodeReply>(), out var target) == Err.Ok)
        {
            bool mounted = MountOn(target!) is not null;
            bool isDir = target!.IsDirectory;
            Put(target);
            if (mounted) r = Err.EBUSY;
            else if (rmdir && !isDir) r = Err.ENOTDIR;
            else if (!rmdir && isDir) r = Err.EISDIR;
            else r = fs.CallName(rmdir ? FsCall.Rmdir : FsCall.Unlink, Req(dir.Ino), name, out _);
        }
        Put(dir);
        m = default;
        return r < 0 ? r : Err.Ok;
    }

    /// <summary>A request naming two entries ("A\0B" in the buffer).</summary>
    private static int CallTwoNames(FileServer fs, int type, FsRequest req, string a, string b) =>
        CallTwoNamesNode(fs, type, req, a, b, out _);

    private int DoRename(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string from);
        if (r != Err.Ok) return r;
        r = PathOf(p.Endpoint, req.Grant2, req.Length2, out string to);
        if (r != Err.Ok) return r;
        r = WalkParent(p, from, out var oldDir, out string oldName);
        if (r != Err.Ok) return r;
        r = WalkParent(p, to, out var newDir, out string newName);
        if (r == Err.Ok)
        {
            if (!ReferenceEquals(oldDir!.Server, newDir!.Server)) r = Err.EXDEV;
            else r = CallTwoNames(oldDir.Server, FsCall.Rename, new FsRequest { Ino = oldDir.Ino, Ino2 = newDir.Ino }, oldName, newName);
            Put(newDir);
        }
        Put(oldDir!);
        m = default;
        return r < 0 ? r : Err.Ok;
    }

    private int DoLink(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string from);
        if (r != Err.Ok) return r;
        r = PathOf(p.Endpoint, req.Grant2, req.Length2, out string to);
        if (r != Err.Ok) return r;
        r = Walk(p, from, followLast: false, out var node);
        if (r != Err.Ok) return r;
        if (node!.IsDirectory)
        {
            Put(node);
            return Err.EPERM;
        }
        r = WalkParent(p, to, out var dir, out string name);
        if (r == Err.Ok)
        {
            if (!ReferenceEquals(dir!.Server, node.Server)) r = Err.EXDEV;
            else
            {
                var q = Req(dir.Ino);
                q.Ino2 = node.Ino;
                r = dir.Server.CallName(FsCall.Link, q, name, out _);
            }
            Put(dir);
        }
        Put(node);
        m = default;
        return r < 0 ? r : Err.Ok;
    }

    private int DoSymlink(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string target);
        if (r != Err.Ok) return r;
        r = PathOf(p.Endpoint, req.Grant2, req.Length2, out string path);
        if (r != Err.Ok) return r;
        r = WalkParent(p, path, out var dir, out string name);
        if (r == Err.EINVAL || r == Err.EBUSY) return Err.EEXIST;
        if (r != Err.Ok) return r;
        var fs = dir!.Server;
        r = CallTwoNamesNode(fs, FsCall.Symlink, Req(dir.Ino), name, target, out var reply);
        Put(dir);
        if (r < 0) return r;
        r = Take(fs, reply.As<FsNodeReply>(), out var node);
        if (r == Err.Ok) Put(node!);
        m = default;
        return r;
    }

    /// <summary>A request naming two entries ("A\0B" in the buffer).</summary>
    private static int CallTwoNamesNode(FileServer fs, int type, FsRequest req, string a, string b, out Message reply)
    {
        var span = fs.Span;
        int n = Encoding.UTF8.GetBytes(a, span);
        span[n++] = 0;
        n += Encoding.UTF8.GetBytes(b, span[n..]);
        req.Grant = fs.Grant;
        req.Length = n;
        return fs.Call(type, req, out reply);
    }

    private int DoReadLink(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (req.Length2 <= 0) return Err.EINVAL;
        int r = WalkArg(p, req, false, out var node);
        if (r != Err.Ok) return r;
        bool link = node!.IsSymlink;
        string target = "";
        r = link ? ReadLinkOf(node, out target) : Err.EINVAL;
        Put(node);
        if (r != Err.Ok) return r;
        // ReadLinkOf left the target's bytes at the start of the buffer.
        int n = Math.Min(Encoding.UTF8.GetByteCount(target), req.Length2);
        int c = SysCall.SafeCopyTo(p.Endpoint, req.Grant2, 0, _buffer, n);
        if (c != Err.Ok) return CopyErr(c);
        m = default;
        return n;
    }

    private int DoChdir(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = WalkArg(p, req, true, out var node);
        if (r != Err.Ok) return r;
        if (!node!.IsDirectory)
        {
            Put(node);
            return Err.ENOTDIR;
        }
        if (p.Cwd is { } old) Put(old);
        p.Cwd = node;
        m = default;
        return Err.Ok;
    }

    private int DoFchdir(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (FileOf(p, req.Fd) is not { } f) return Err.EBADF;
        if (f.Node is not { IsDirectory: true } node) return Err.ENOTDIR;
        Use(node);
        if (p.Cwd is { } old) Put(old);
        p.Cwd = node;
        m = default;
        return Err.Ok;
    }

    private int DoChmod(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = WalkArg(p, req, true, out var node);
        if (r != Err.Ok) return r;
        var q = Req(node!.Ino);
        if (m.Type == VfsCall.Chmod) q.Mode = req.Mode & FsMode.PermissionMask;
        else (q.Owner, q.Group) = (req.Owner, req.Group);
        r = node.Server.Call(m.Type == VfsCall.Chmod ? FsCall.Chmod : FsCall.Chown, q, out _);
        Put(node);
        m = default;
        return r < 0 ? r : Err.Ok;
    }

    private int DoTruncate(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if (req.Position < 0) return Err.EINVAL;
        int r = WalkArg(p, req, true, out var node);
        if (r != Err.Ok) return r;
        if (node!.IsDirectory) r = Err.EISDIR;
        else if (node.Type != FsMode.Regular) r = Err.EINVAL;
        else r = node.Server.Call(FsCall.Truncate, new FsRequest { Ino = node.Ino, Position = req.Position }, out _);
        Put(node);
        m = default;
        return r < 0 ? r : Err.Ok;
    }
}
