// MFS's name requests (FsCall): Lookup, Create, Mkdir, Symlink, Unlink, Rmdir, Link, Rename.
// Names come from the caller's read grant: one name is Length bytes, two (Rename, Symlink's
// name and target) are separated by one NUL. A name is 1..NameMax bytes of valid UTF-8 with no
// '/' and no NUL (EINVAL, ENAMETOOLONG); a symlink target is 1..PathMax bytes with no NUL. Each
// request that answers a node (FsNodeReply) gives VFS one more reference on it, so the table
// must have room for it before the engine creates anything (ENFILE).
using System.Text;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Mfs.Server;

public sealed partial class MfsServer
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Copies Length bytes of the caller's grant (at most <paramref name="max"/>) into the scratch buffer.</summary>
    private int CopyIn(int caller, in FsRequest req, int max, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (req.Length < 1) return Err.EINVAL;
        if (req.Length > max) return Err.ENAMETOOLONG;
        int r = SysCall.SafeCopyFrom(caller, req.Grant, 0, _scratch, req.Length);
        if (r != Err.Ok) return r;
        bytes = Scratch(req.Length);
        return Err.Ok;
    }

    /// <summary>A directory entry's name: 1..NameMax bytes of UTF-8, no '/', no NUL.</summary>
    private static int Name(ReadOnlySpan<byte> bytes, out string name)
    {
        name = "";
        if (bytes.Length == 0 || bytes.IndexOfAny((byte)'/', (byte)0) >= 0) return Err.EINVAL;
        if (bytes.Length > FsCall.NameMax) return Err.ENAMETOOLONG;
        try { name = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return Err.EINVAL; }
        return Err.Ok;
    }

    /// <summary>One name from the caller's grant.</summary>
    private int ReadName(int caller, in FsRequest req, out string name)
    {
        name = "";
        int r = CopyIn(caller, req, FsCall.NameMax, out var bytes);
        return r != Err.Ok ? r : Name(bytes, out name);
    }

    /// <summary>"FIRST\0SECOND" from the caller's grant; the second part is checked by <paramref name="second"/>.</summary>
    private int ReadPair(int caller, in FsRequest req, int secondMax, out string first, out ReadOnlySpan<byte> second)
    {
        first = "";
        second = default;
        int r = CopyIn(caller, req, FsCall.NameMax + 1 + secondMax, out var bytes);
        if (r != Err.Ok) return r;
        int nul = bytes.IndexOf((byte)0);
        if (nul < 0) return Err.EINVAL;
        r = Name(bytes[..nul], out first);
        if (r != Err.Ok) return r;
        second = bytes[(nul + 1)..];
        return second.Length > secondMax ? Err.ENAMETOOLONG : Err.Ok;
    }

    private int DoLookup(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        r = ReadName(caller, req, out string name);
        if (r != Err.Ok) return r;
        var e = Engine.Lookup(req.Ino, name, cred, out uint ino);
        if (e != MfsError.None) return E(e);
        if (!_refs.CanAdd(ino)) return Err.ENFILE;
        return NodeReply(ino, ref m, addReference: true);
    }

    private int DoCreate(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int type = req.Mode & FsMode.TypeMask;
        if ((req.Mode & ~(FsMode.TypeMask | FsMode.PermissionMask)) != 0) return Err.EINVAL;
        if (type == 0) type = FsMode.Regular;
        if (type is not (FsMode.Regular or FsMode.CharDevice or FsMode.BlockDevice or FsMode.Fifo)) return Err.EINVAL;
        uint rdev = type is FsMode.CharDevice or FsMode.BlockDevice ? req.Rdev : 0;
        uint dir = req.Ino;
        ushort mode = (ushort)(type | (req.Mode & FsMode.PermissionMask));
        return MakeNode(caller, req, (string name, out uint ino) => Engine.Create(dir, name, mode, cred, out ino, rdev), ref m);
    }

    private int DoMkdir(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int type = req.Mode & FsMode.TypeMask;
        if ((req.Mode & ~(FsMode.TypeMask | FsMode.PermissionMask)) != 0 || type is not (0 or FsMode.Directory)) return Err.EINVAL;
        ushort mode = (ushort)(req.Mode & FsMode.PermissionMask);
        uint dir = req.Ino;
        return MakeNode(caller, req, (string name, out uint ino) => Engine.Mkdir(dir, name, mode, cred, out ino), ref m);
    }

    private delegate MfsError Maker(string name, out uint ino);

    /// <summary>Create and Mkdir: held directory, room for the new reference, the name; then the engine.</summary>
    private int MakeNode(int caller, in FsRequest req, Maker make, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        if (!_refs.CanAdd(0)) return Err.ENFILE;
        r = ReadName(caller, req, out string name);
        if (r != Err.Ok) return r;
        var e = make(name, out uint ino);
        return e != MfsError.None ? E(e) : NodeReply(ino, ref m, addReference: true);
    }

    private int DoSymlink(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        if (!_refs.CanAdd(0)) return Err.ENFILE;
        r = ReadPair(caller, req, FsCall.PathMax, out string name, out var targetBytes);
        if (r != Err.Ok) return r;
        if (targetBytes.Length == 0 || targetBytes.IndexOf((byte)0) >= 0) return Err.EINVAL;
        string target;
        try { target = StrictUtf8.GetString(targetBytes); }
        catch (DecoderFallbackException) { return Err.EINVAL; }
        var e = Engine.Symlink(req.Ino, name, target, cred, out uint ino);
        return e != MfsError.None ? E(e) : NodeReply(ino, ref m, addReference: true);
    }

    private int DoUnlink(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        r = ReadName(caller, req, out string name);
        if (r != Err.Ok) return r;
        var e = Engine.Unlink(req.Ino, name, cred);
        return e == MfsError.EISDIR ? Err.EPERM : E(e); // POSIX: unlink of a directory is EPERM
    }

    private int DoRmdir(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        r = ReadName(caller, req, out string name);
        return r != Err.Ok ? r : E(Engine.Rmdir(req.Ino, name, cred));
    }

    private int DoLink(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r == Err.Ok) r = Held(req.Ino2);
        if (r != Err.Ok) return r;
        r = ReadName(caller, req, out string name);
        return r != Err.Ok ? r : E(Engine.Link(req.Ino, name, req.Ino2, cred));
    }

    private int DoRename(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r == Err.Ok) r = Held(req.Ino2);
        if (r != Err.Ok) return r;
        r = ReadPair(caller, req, FsCall.NameMax, out string oldName, out var newBytes);
        if (r != Err.Ok) return r;
        r = Name(newBytes, out string newName);
        return r != Err.Ok ? r : E(Engine.Rename(req.Ino, oldName, req.Ino2, newName, cred));
    }
}
