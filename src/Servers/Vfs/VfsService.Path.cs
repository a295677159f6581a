// The path walk (docs/vfs.md "Paths"): one component per FsCall.Lookup, as MINIX 3.2's VFS does.
// "." stays, ".." goes up — from a mount's root to the directory it covers first, and not above
// the root; a looked-up directory that a file system is mounted on becomes that file system's
// root; a symbolic link (except the last component, when the caller says so) is read and its
// target spliced in front of what is left of the path, at most VfsCall.SymlinkMax times a walk
// (ELOOP). Every vnode the walk passes through is held (Use) while it is needed and put back
// (Put) after: a walk that fails leaves nothing held. Rules: names longer than FsCall.NameMax
// bytes are ENAMETOOLONG; a path with a trailing '/' must name a directory.
using System.Text;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed partial class VfsService
{
    private Mount? MountOn(Vnode v)
    {
        foreach (var m in _mounts) if (m is not null && ReferenceEquals(m.Covered, v)) return m;
        return null;
    }

    private Mount? MountWithRoot(Vnode v)
    {
        foreach (var m in _mounts) if (m is not null && ReferenceEquals(m.Root, v)) return m;
        return null;
    }

    /// <summary>Resolves <paramref name="path"/> for <paramref name="p"/>: OK and the vnode (held
    /// once: the caller Puts it), or an error and nothing held.</summary>
    private int Walk(Proc p, string path, bool followLast, out Vnode? node)
    {
        node = null;
        if (Root is not { } rootMount) return Err.ENOENT;
        if (path.Length == 0) return Err.ENOENT;
        var root = rootMount.Root;
        var cur = path[0] == '/' ? root : p.Cwd ?? root;
        Use(cur);
        var left = new Stack<string>();
        Push(left, path);
        bool mustDir = path[^1] == '/';
        int links = 0;
        while (left.Count > 0)
        {
            string name = left.Pop();
            if (!cur.IsDirectory)
            {
                Put(cur);
                return Err.ENOTDIR;
            }
            if (name == ".") continue;
            if (name == "..")
            {
                if (ReferenceEquals(cur, root)) continue;
                if (MountWithRoot(cur) is { Covered: { } covered })
                {
                    Use(covered);
                    Put(cur);
                    cur = covered;
                }
            }
            if (Encoding.UTF8.GetByteCount(name) > FsCall.NameMax)
            {
                Put(cur);
                return Err.ENAMETOOLONG;
            }
            int r = cur.Server.CallName(FsCall.Lookup, Req(cur.Ino), name, out var reply);
            if (r < 0)
            {
                Put(cur);
                return r;
            }
            r = Take(cur.Server, reply.As<FsNodeReply>(), out var next);
            if (r != Err.Ok)
            {
                Put(cur);
                return r;
            }
            while (MountOn(next!) is { } m)
            {
                Use(m.Root);
                Put(next!);
                next = m.Root;
            }
            bool last = left.Count == 0;
            if (next!.IsSymlink && (!last || followLast || mustDir))
            {
                if (++links > VfsCall.SymlinkMax)
                {
                    Put(next);
                    Put(cur);
                    return Err.ELOOP;
                }
                r = ReadLinkOf(next, out string target);
                Put(next);
                if (r != Err.Ok)
                {
                    Put(cur);
                    return r;
                }
                if (left.Count + target.Length / 2 > VfsCall.PathMax)
                {
                    Put(cur);
                    return Err.ENAMETOOLONG;
                }
                Push(left, target);
                if (last && target[^1] == '/') mustDir = true;
                if (target[0] == '/')
                {
                    Use(root);
                    Put(cur);
                    cur = root;
                }
                continue;
            }
            Put(cur);
            cur = next;
        }
        if (mustDir && !cur.IsDirectory)
        {
            Put(cur);
            return Err.ENOTDIR;
        }
        node = cur;
        return Err.Ok;
    }

    /// <summary>Pushes the components of <paramref name="path"/> so that the first is on top.</summary>
    private static void Push(Stack<string> left, string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = parts.Length - 1; i >= 0; i--) left.Push(parts[i]);
    }

    /// <summary>Resolves all of <paramref name="path"/> but its last component: OK, the directory
    /// (held once) and the last name; "/" alone is EBUSY, a last name "." or ".." EINVAL.</summary>
    private int WalkParent(Proc p, string path, out Vnode? dir, out string name)
    {
        dir = null;
        name = "";
        string trimmed = path.TrimEnd('/');
        if (path.Length == 0) return Err.ENOENT;
        if (trimmed.Length == 0) return Err.EBUSY;
        int slash = trimmed.LastIndexOf('/');
        name = trimmed[(slash + 1)..];
        if (name is "." or "..") return Err.EINVAL;
        if (Encoding.UTF8.GetByteCount(name) > FsCall.NameMax) return Err.ENAMETOOLONG;
        string parent = slash < 0 ? "." : slash == 0 ? "/" : trimmed[..slash];
        int r = Walk(p, parent, followLast: true, out dir);
        if (r != Err.Ok) return r;
        if (!dir!.IsDirectory)
        {
            Put(dir);
            dir = null;
            return Err.ENOTDIR;
        }
        return Err.Ok;
    }

    /// <summary>The target of a symbolic link (never empty).</summary>
    private int ReadLinkOf(Vnode link, out string target)
    {
        target = "";
        var fs = link.Server;
        var req = Req(link.Ino);
        req.Grant = fs.Grant;
        req.Length = FsCall.PathMax;
        int r = fs.Call(FsCall.ReadLink, req, out _);
        if (r < 0) return r;
        if (r == 0) return Err.ENOENT;
        if (r > FsCall.PathMax) return Err.EIO; // a file server that answers nonsense
        try { target = new UTF8Encoding(false, true).GetString(Buffer[..r]); }
        catch (DecoderFallbackException) { return Err.EIO; }
        return target.Contains('\0') ? Err.EIO : Err.Ok;
    }
}
