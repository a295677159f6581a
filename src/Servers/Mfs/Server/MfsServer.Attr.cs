// MFS's attribute requests (FsCall): Stat, Chmod, Chown, Utime. The engine checks who may
// change what (owner or root; chown by root, or by the owner to its own group); the server
// checks the values fit the MINIX v3 inode: permission bits only for Chmod, 16-bit ids for
// Chown (-1 keeps the current one, as chown(2) does).
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Mfs.Server;

public sealed partial class MfsServer
{
    private int DoStat(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        var e = Engine.Stat(req.Ino, out var st);
        if (e != MfsError.None) return E(e);
        m.As<FsStatReply>() = new FsStatReply
        {
            Ino = st.Inode, Mode = st.Mode, Nlinks = st.Nlinks, Uid = st.Uid, Gid = st.Gid, Rdev = st.Rdev, Size = st.Size,
            Atime = st.Atime, Mtime = st.Mtime, Ctime = st.Ctime, BlockSize = st.BlockSize, Blocks = st.Blocks,
        };
        return Err.Ok;
    }

    private int DoChmod(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        if ((req.Mode & ~FsMode.PermissionMask) != 0) return Err.EINVAL;
        return E(Engine.Chmod(req.Ino, (ushort)req.Mode, cred));
    }

    private int DoChown(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        if (req.Owner is < -1 or > ushort.MaxValue || req.Group is < -1 or > ushort.MaxValue) return Err.EINVAL;
        var e = Engine.Stat(req.Ino, out var st);
        if (e != MfsError.None) return E(e);
        ushort owner = req.Owner == -1 ? st.Uid : (ushort)req.Owner;
        ushort group = req.Group == -1 ? st.Gid : (ushort)req.Group;
        return E(Engine.Chown(req.Ino, owner, group, cred));
    }

    private int DoUtime(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        return r != Err.Ok ? r : E(Engine.Utime(req.Ino, req.Atime, req.Mtime, cred));
    }
}
