// Path lookup inside one file system, as MINIX's REQ_LOOKUP does it: component by component
// from a start directory (the root for an absolute path), each directory searched only with
// execute permission, "." and ".." followed through the directory entries (the root's ".." is
// the root), and symbolic links expanded in place — a relative target from the directory that
// holds the link, an absolute one from the root — at most SymlinkDepth times (ELOOP after).
// Rules: paths longer than PathMax are ENAMETOOLONG; a component longer than 60 bytes is
// ENAMETOOLONG; a non-directory in the middle is ENOTDIR.
using System.Text;
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public sealed partial class MfsEngine
{
    public const int PathMax = 4096;

    /// <summary>The inode <paramref name="path"/> names, relative to <paramref name="start"/>
    /// unless absolute; the last component's symbolic link is followed when <paramref name="followLast"/>.</summary>
    public MfsError Resolve(string path, MfsCred cred, bool followLast, out uint ino, uint start = RootInode)
    {
        ino = 0;
        if (path is null || path.Length == 0) return MfsError.ENOENT;
        if (Encoding.UTF8.GetByteCount(path) > PathMax) return MfsError.ENAMETOOLONG;
        var r = LoadInode(start, out _);
        if (r != MfsError.None) return r;
        var parts = new List<string>(); // components still to walk, in reverse order
        Push(parts, path);
        uint cur = path[0] == '/' ? RootInode : start;
        int links = 0;
        while (parts.Count > 0)
        {
            string name = parts[^1];
            parts.RemoveAt(parts.Count - 1);
            r = Step(cur, name, cred, out uint next, out var nextInode);
            if (r != MfsError.None) return r;
            bool last = parts.Count == 0;
            if (nextInode.IsSymlink && (!last || followLast))
            {
                if (++links > _options.SymlinkDepth) return MfsError.ELOOP;
                r = ReadLinkTarget(nextInode, out string target);
                if (r != MfsError.None) return r;
                if (parts.Sum(p => p.Length + 1) + target.Length > PathMax) return MfsError.ENAMETOOLONG;
                Push(parts, target);
                if (target[0] == '/') cur = RootInode;
                continue;
            }
            cur = next;
        }
        ino = cur;
        return MfsError.None;
    }

    /// <summary>The directory that holds the last component of <paramref name="path"/>, and
    /// that component ("" for the root itself).</summary>
    public MfsError ResolveParent(string path, MfsCred cred, out uint dir, out string last, uint start = RootInode)
    {
        dir = 0;
        last = "";
        if (path is null || path.Length == 0) return MfsError.ENOENT;
        string trimmed = path.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        if (trimmed.Length == 0)
        {
            dir = RootInode;
            return MfsError.None;
        }
        last = trimmed[(slash + 1)..];
        string head = slash < 0 ? "." : slash == 0 ? "/" : trimmed[..slash];
        var r = Resolve(head, cred, followLast: true, out dir, start);
        if (r != MfsError.None) return r;
        r = LoadInode(dir, out var d);
        if (r != MfsError.None) return r;
        return d.IsDirectory ? MfsError.None : MfsError.ENOTDIR;
    }

    private static void Push(List<string> parts, string path)
    {
        var comps = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = comps.Length - 1; i >= 0; i--) parts.Add(comps[i]);
    }

    /// <summary>One component: <paramref name="name"/> in directory <paramref name="dir"/>.</summary>
    private MfsError Step(uint dir, string name, MfsCred cred, out uint ino, out DiskInode inode)
    {
        ino = 0;
        inode = default;
        var r = LoadInode(dir, out var d);
        if (r != MfsError.None) return r;
        if (!d.IsDirectory) return MfsError.ENOTDIR;
        if (!MfsAccess.Allowed(d, cred, ModeBits.Execute)) return MfsError.EACCES;
        if (name == "." || (name == ".." && dir == RootInode))
        {
            ino = dir;
            inode = d;
            return MfsError.None;
        }
        r = CheckName(name, out var bytes);
        if (r != MfsError.None) return r;
        r = FindEntry(d, bytes, out ino, out _);
        if (r != MfsError.None) return r;
        return LoadLinkedInode(ino, out inode);
    }

    private MfsError ReadLinkTarget(in DiskInode link, out string target)
    {
        target = "";
        if (link.FileSize == 0 || link.FileSize >= BlockSize) return MfsError.EIO;
        var r = MapBlock(link, 0, out uint zone);
        if (r != MfsError.None) return r;
        if (zone == 0) return MfsError.EIO;
        var b = Cache.Get(zone);
        if (b is null) return MfsError.EIO;
        target = Encoding.UTF8.GetString(b.Data, 0, (int)link.FileSize);
        return MfsError.None;
    }
}
