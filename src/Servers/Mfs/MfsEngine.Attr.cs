// Attribute calls: stat, chmod, chown and utime. Only the owner (or root) changes the mode or
// the times; only root changes the owner, and the owner may change the group to its own.
// A non-root chown clears set-uid and set-gid, as POSIX asks.
using Bulkhead.Servers.Mfs.Disk;

namespace Bulkhead.Servers.Mfs;

public sealed partial class MfsEngine
{
    public MfsError Stat(uint ino, out MfsStat stat)
    {
        stat = default;
        var r = LoadInode(ino, out var i);
        if (r != MfsError.None) return r;
        bool device = (i.Mode & ModeBits.TypeMask) is ModeBits.CharDevice or ModeBits.BlockDevice;
        long blocks = (i.FileSize + (long)BlockSize - 1) / BlockSize * (BlockSize / 512);
        stat = new MfsStat(ino, i.Mode, i.Nlinks, i.Uid, i.Gid, device ? i.Zones[0] : 0, i.FileSize,
            i.Atime, i.Mtime, i.Ctime, BlockSize, device ? 0 : blocks);
        return MfsError.None;
    }

    /// <summary>Sets the permission bits (07777); the file type is kept.</summary>
    public MfsError Chmod(uint ino, ushort mode, MfsCred cred)
    {
        var r = LoadInode(ino, out var i);
        if (r != MfsError.None) return r;
        if (!MfsAccess.IsOwner(i.Uid, cred)) return MfsError.EPERM;
        if (ReadOnly) return MfsError.EROFS;
        i.Mode = (ushort)((i.Mode & ModeBits.TypeMask) | (mode & ModeBits.PermissionMask));
        i.Ctime = Now;
        return StoreInode(ino, i);
    }

    public MfsError Chown(uint ino, ushort uid, ushort gid, MfsCred cred)
    {
        var r = LoadInode(ino, out var i);
        if (r != MfsError.None) return r;
        if (!cred.IsRoot && (cred.Uid != i.Uid || uid != i.Uid || gid != cred.Gid)) return MfsError.EPERM;
        if (ReadOnly) return MfsError.EROFS;
        i.Uid = uid;
        i.Gid = gid;
        if (!cred.IsRoot && !i.IsDirectory) i.Mode &= unchecked((ushort)~0xC00); // S_ISUID | S_ISGID
        i.Ctime = Now;
        return StoreInode(ino, i);
    }

    public MfsError Utime(uint ino, uint atime, uint mtime, MfsCred cred)
    {
        var r = LoadInode(ino, out var i);
        if (r != MfsError.None) return r;
        if (!MfsAccess.IsOwner(i.Uid, cred)) return MfsError.EPERM;
        if (ReadOnly) return MfsError.EROFS;
        i.Atime = atime;
        i.Mtime = mtime;
        i.Ctime = Now;
        return StoreInode(ino, i);
    }
}
