// Directory calls: mkdir, rmdir, rename and getdents. A directory has nlinks = 2 + its
// subdirectories (its entry in the parent, its own ".", and each child's ".."); mkdir, rmdir
// and a rename that moves a directory keep that count true for both parents.
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public sealed partial class MfsEngine
{
    /// <summary>A new directory <paramref name="name"/> in <paramref name="dir"/> holding "." and "..".</summary>
    public MfsError Mkdir(uint dir, string name, ushort mode, MfsCred cred, out uint ino)
    {
        ino = 0;
        var r = CheckNewEntry(dir, name, cred, out var bytes);
        if (r != MfsError.None) return r;
        r = LoadInode(dir, out var parent);
        if (r != MfsError.None) return r;
        if (parent.Nlinks >= _options.LinkMax) return MfsError.EMLINK;
        r = MakeNode(dir, bytes, (ushort)(ModeBits.Directory | (mode & ModeBits.PermissionMask)), cred, 2, 2 * DirEntryLayout.Size, (block, n) =>
        {
            DirEntryLayout.Write(block[..DirEntryLayout.Size], n, "."u8);
            DirEntryLayout.Write(block.Slice(DirEntryLayout.Size, DirEntryLayout.Size), dir, ".."u8);
        }, 0, out ino);
        return r != MfsError.None ? r : AdjustLinks(dir, +1);
    }

    /// <summary>Removes the empty directory <paramref name="name"/> from <paramref name="dir"/>.</summary>
    public MfsError Rmdir(uint dir, string name, MfsCred cred)
    {
        var r = CheckName(name, out var bytes);
        if (r != MfsError.None) return r;
        r = WritableDir(dir, cred, out var d);
        if (r != MfsError.None) return r;
        if (name == ".") return MfsError.EINVAL;
        if (name == "..") return MfsError.ENOTEMPTY;
        r = FindEntry(d, bytes, out uint ino, out long offset);
        if (r != MfsError.None) return r;
        r = LoadLinkedInode(ino, out var t);
        if (r != MfsError.None) return r;
        if (!t.IsDirectory) return MfsError.ENOTDIR;
        if (ino == RootInode) return MfsError.EBUSY;
        if (!StickyAllows(d, t, cred)) return MfsError.EPERM;
        r = IsEmptyDir(t, out bool empty);
        if (r != MfsError.None) return r;
        if (!empty) return MfsError.ENOTEMPTY;
        r = SetEntry(dir, offset, 0);
        if (r != MfsError.None) return r;
        r = RemoveDirInode(ino);
        var p = AdjustLinks(dir, -1);
        return r != MfsError.None ? r : p;
    }

    /// <summary>An empty directory lost its name: its links go to 0 (its "." no longer counts)
    /// and it is freed unless VFS holds it.</summary>
    private MfsError RemoveDirInode(uint ino)
    {
        var r = ReadInode(ino, out var t);
        if (r != MfsError.None) return r;
        t.Nlinks = 0;
        t.Ctime = Now;
        return _retained.ContainsKey(ino) ? StoreInode(ino, t) : FreeInode(ino, ref t);
    }

    /// <summary>Renames <paramref name="oldName"/> in <paramref name="oldDir"/> to
    /// <paramref name="newName"/> in <paramref name="newDir"/>, replacing a target of the same
    /// kind (an empty directory for a directory). Moving a directory into itself or below
    /// itself is EINVAL; a moved directory's ".." is pointed at its new parent.</summary>
    public MfsError Rename(uint oldDir, string oldName, uint newDir, string newName, MfsCred cred)
    {
        var r = CheckName(oldName, out var oldBytes);
        if (r == MfsError.None) r = CheckName(newName, out _);
        if (r != MfsError.None) return r;
        var newBytes = System.Text.Encoding.UTF8.GetBytes(newName);
        if (IsDotOrDotDot(oldName) || IsDotOrDotDot(newName)) return MfsError.EINVAL;
        r = WritableDir(oldDir, cred, out var od);
        if (r != MfsError.None) return r;
        r = WritableDir(newDir, cred, out var nd);
        if (r != MfsError.None) return r;
        r = FindEntry(od, oldBytes, out uint ino, out long oldOffset);
        if (r != MfsError.None) return r;
        r = LoadLinkedInode(ino, out var moving);
        if (r != MfsError.None) return r;
        if (!StickyAllows(od, moving, cred)) return MfsError.EPERM;
        r = FindEntry(nd, newBytes, out uint victim, out long newOffset);
        if (r is not (MfsError.None or MfsError.ENOENT)) return r;
        bool replace = r == MfsError.None;
        if (replace && victim == ino) return MfsError.None;
        var v = default(DiskInode);
        if (replace)
        {
            r = LoadLinkedInode(victim, out v);
            if (r != MfsError.None) return r;
            if (!StickyAllows(nd, v, cred)) return MfsError.EPERM;
        }
        bool moveDir = moving.IsDirectory && oldDir != newDir;
        if (moving.IsDirectory)
        {
            if (moveDir)
            {
                r = IsBelow(newDir, ino, out bool below);
                if (r != MfsError.None) return r;
                if (below) return MfsError.EINVAL;
            }
            if (replace)
            {
                if (!v.IsDirectory) return MfsError.ENOTDIR;
                r = IsEmptyDir(v, out bool empty);
                if (r != MfsError.None) return r;
                if (!empty) return MfsError.ENOTEMPTY;
            }
            else if (moveDir && nd.Nlinks >= _options.LinkMax) return MfsError.EMLINK;
        }
        else if (replace && v.IsDirectory) return MfsError.EISDIR;

        // All checks passed: change the disk.
        r = replace ? SetEntry(newDir, newOffset, ino) : AddEntry(newDir, newBytes, ino);
        if (r != MfsError.None) return r;
        r = SetEntry(oldDir, oldOffset, 0);
        if (r != MfsError.None) return r;
        if (replace)
        {
            r = v.IsDirectory ? RemoveDirInode(victim) : DropLink(victim);
            if (r == MfsError.None && v.IsDirectory) r = AdjustLinks(newDir, -1);
            if (r != MfsError.None) return r;
        }
        if (moveDir)
        {
            r = SetDotDot(ino, newDir);
            if (r == MfsError.None) r = AdjustLinks(oldDir, -1);
            if (r == MfsError.None) r = AdjustLinks(newDir, +1);
            if (r != MfsError.None) return r;
        }
        return AdjustLinks(ino, 0);
    }

    /// <summary>Whether <paramref name="dir"/> is <paramref name="ancestor"/> or lies below it,
    /// following ".." up to the root; a ".." chain longer than the inode count is EIO (a loop).</summary>
    private MfsError IsBelow(uint dir, uint ancestor, out bool below)
    {
        below = false;
        uint cur = dir;
        for (long steps = 0; steps <= Super.Inodes; steps++)
        {
            if (cur == ancestor)
            {
                below = true;
                return MfsError.None;
            }
            if (cur == RootInode) return MfsError.None;
            var r = LoadLinkedInode(cur, out var d);
            if (r != MfsError.None) return r;
            if (!d.IsDirectory) return MfsError.EIO;
            r = FindEntry(d, ".."u8, out uint up, out _);
            if (r != MfsError.None) return r == MfsError.ENOENT ? MfsError.EIO : r;
            cur = up;
        }
        return MfsError.EIO;
    }

    private MfsError SetDotDot(uint dir, uint parent)
    {
        var r = ReadInode(dir, out var d);
        if (r != MfsError.None) return r;
        r = FindEntry(d, ".."u8, out _, out long offset);
        if (r != MfsError.None) return r == MfsError.ENOENT ? MfsError.EIO : r;
        return SetEntry(dir, offset, parent);
    }

    /// <summary>Up to <paramref name="max"/> entries of <paramref name="dir"/> from byte
    /// <paramref name="offset"/> on (0 to start), "." and ".." included; <paramref name="next"/>
    /// is where the next call resumes, the directory's size when it is done.</summary>
    public MfsError GetDents(uint dir, long offset, int max, List<MfsDirEntry> into, out long next)
    {
        next = offset;
        ArgumentNullException.ThrowIfNull(into);
        if (offset < 0 || offset % DirEntryLayout.Size != 0 || max <= 0) return MfsError.EINVAL;
        var r = LoadInode(dir, out var d);
        if (r != MfsError.None) return r;
        if (!d.IsDirectory) return MfsError.ENOTDIR;
        long resume = d.FileSize;
        int taken = 0;
        bool bad = false;
        var found = new List<(uint, byte[], long)>();
        r = ScanDir(d, offset, (e, off) =>
        {
            uint n = DirEntryLayout.InodeOf(e);
            if (n == 0) return false;
            if (taken == max)
            {
                resume = off;
                return true;
            }
            if (!ValidInodeNumber(n)) bad = true;
            found.Add((n, DirEntryLayout.NameOf(e).ToArray(), off));
            taken++;
            return bad;
        });
        if (r != MfsError.None) return r;
        if (bad) return MfsError.EIO;
        foreach (var (n, name, off) in found) into.Add(new MfsDirEntry(n, DirEntryLayout.Decode(name), off));
        next = Math.Max(resume, offset);
        return MfsError.None;
    }
}
