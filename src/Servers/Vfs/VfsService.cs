// VFS's state and its request dispatch (docs/vfs.md): the programs (Proc: descriptor tables and
// working directories), the open files (at most VfsCall.MaxOpenFiles), the vnodes (one per file
// server and inode, at most MaxVnodes), the mount table (at most VfsCall.MaxMounts) and the pipes.
// Handlers live in one file per call family: VfsService.Files.cs (descriptors and data),
// .Names.cs (calls on paths), .Path.cs (the walk), .Mounts.cs, .Pending.cs (blocked pipe calls
// and dead programs). Every handler first checks its whole request — descriptors, lengths,
// grants, flags — and only then changes state. Nothing in a request or a file server's answer is
// trusted. Data moves through one transfer buffer in VFS's arena (VfsCall.MaxTransfer bytes plus
// room for a device's sector edges): copied from the program's grant, written by a file server or
// a device, copied to the program's grant. VFS does one thing at a time.
using System.Text;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed partial class VfsService
{
    /// <summary>Vnodes held at once (ENFILE beyond).</summary>
    public const int MaxVnodes = 4096;
    /// <summary>Pipes at once (ENFILE beyond).</summary>
    public const int MaxPipes = 256;
    /// <summary>Devices (label, minor) open at once.</summary>
    public const int MaxDevices = 32;
    /// <summary>The transfer buffer: MaxTransfer plus two sectors of 4 KiB for a device's edges.</summary>
    private const int BufferBytes = VfsCall.MaxTransfer + 8192;

    private readonly Dictionary<int, Proc> _procs = [];
    private readonly Dictionary<(FileServer, uint), Vnode> _nodes = [];
    private readonly Mount?[] _mounts = new Mount?[VfsCall.MaxMounts];
    private readonly Dictionary<(string, int), Device> _devices = [];
    private readonly long _buffer;
    private int _openFiles;
    private int _pipes;
    private int _nextPipe = 1;
    private ServerLoop? _loop;

    public VfsService()
    {
        _buffer = ArenaHeap.Allocate(BufferBytes);
        if (_buffer < 0) throw new InvalidOperationException("no arena for VFS's transfer buffer");
    }

    public int OpenFiles => _openFiles;
    public int Vnodes => _nodes.Count;
    public Mount? Root => _mounts[0];

    private Span<byte> Buffer => Channel.Current.Arena.Slice((int)_buffer, BufferBytes);

    public void Register(ServerLoop loop)
    {
        _loop = loop;
        Handle(VfsCall.Open, DoOpen);
        Handle(VfsCall.Close, DoClose);
        Handle(VfsCall.Read, DoRead);
        Handle(VfsCall.Write, DoWrite);
        Handle(VfsCall.Lseek, DoLseek);
        Handle(VfsCall.PRead, DoRead);
        Handle(VfsCall.PWrite, DoWrite);
        Handle(VfsCall.Stat, DoStat);
        Handle(VfsCall.LStat, DoStat);
        Handle(VfsCall.FStat, DoFStat);
        Handle(VfsCall.GetDents, DoGetDents);
        Handle(VfsCall.Mkdir, DoMkdir);
        Handle(VfsCall.Mknod, DoMkdir);
        Handle(VfsCall.Rmdir, DoRemove);
        Handle(VfsCall.Unlink, DoRemove);
        Handle(VfsCall.Rename, DoRename);
        Handle(VfsCall.Link, DoLink);
        Handle(VfsCall.Symlink, DoSymlink);
        Handle(VfsCall.ReadLink, DoReadLink);
        Handle(VfsCall.Chdir, DoChdir);
        Handle(VfsCall.Fchdir, DoFchdir);
        Handle(VfsCall.Chmod, DoChmod);
        Handle(VfsCall.Chown, DoChmod);
        Handle(VfsCall.Truncate, DoTruncate);
        Handle(VfsCall.Ftruncate, DoFtruncate);
        Handle(VfsCall.Fsync, DoFsync);
        Handle(VfsCall.Dup, DoDup);
        Handle(VfsCall.Dup2, DoDup);
        Handle(VfsCall.Pipe, DoPipe);
        Handle(VfsCall.Mount, DoMount);
        Handle(VfsCall.Umount, DoUmount);
        Handle(VfsCall.Sync, DoSync);
        Handle(VfsCall.StatFs, DoStatFs);
    }

    private delegate int Handler(ref Message m, Proc p);

    private void Handle(int call, Handler h) =>
        _loop!.On(call, (ref Message m) =>
        {
            Revive();
            var p = ProcOf(m.Source);
            int r = h(ref m, p);
            if (r != Err.EDONTREPLY) Forget(p, evenWithFiles: false);
            AfterCall();
            return r;
        });

    private Proc ProcOf(int endpoint)
    {
        if (!_procs.TryGetValue(endpoint, out var p)) _procs[endpoint] = p = new Proc(endpoint);
        return p;
    }

    /// <summary>Drops a program's entry once it holds nothing (or, when it died, everything it held).</summary>
    private void Forget(Proc p, bool evenWithFiles)
    {
        if (evenWithFiles)
        {
            for (int fd = 0; fd < p.Fds.Length; fd++) CloseFd(p, fd);
            if (p.Cwd is { } cwd)
            {
                p.Cwd = null;
                Put(cwd);
            }
        }
        if (!p.Holds && !_pending.ContainsKey(p.Endpoint)) _procs.Remove(p.Endpoint);
    }

    // ---- vnodes ----

    /// <summary>The vnode of a file server's answer (FsNodeReply, one reference there), with one use.</summary>
    private int Take(FileServer fs, in FsNodeReply reply, out Vnode? node)
    {
        node = null;
        if (!_nodes.TryGetValue((fs, reply.Ino), out var v))
        {
            if (_nodes.Count >= MaxVnodes)
            {
                PutNode(fs, reply.Ino, 1);
                return Err.ENFILE;
            }
            v = new Vnode(fs, reply.Ino);
            _nodes[(fs, reply.Ino)] = v;
        }
        v.Mode = reply.Mode;
        v.Size = reply.Size;
        v.Rdev = reply.Rdev;
        v.FsRefs++;
        v.Uses++;
        node = v;
        return Err.Ok;
    }

    private static void Use(Vnode v) => v.Uses++;

    /// <summary>Gives one use back; the last gives the file server its references back.</summary>
    private void Put(Vnode v)
    {
        if (--v.Uses > 0) return;
        _nodes.Remove((v.Server, v.Ino));
        if (v.FsRefs > 0) PutNode(v.Server, v.Ino, v.FsRefs);
        v.FsRefs = 0;
    }

    private static void PutNode(FileServer fs, uint ino, int count)
    {
        if (fs.Dead) return;
        fs.Call(FsCall.PutNode, new FsRequest { Ino = ino, Length = count }, out _);
    }

    // ---- requests ----

    /// <summary>Copies a path from the caller's grant: OK and the path, or an error.</summary>
    private int PathOf(int caller, int grant, int length, out string path)
    {
        path = "";
        if (length <= 0) return length == 0 ? Err.ENOENT : Err.EINVAL;
        if (length > VfsCall.PathMax) return Err.ENAMETOOLONG;
        int r = SysCall.SafeCopyFrom(caller, grant, 0, _buffer, length);
        if (r != Err.Ok) return r == Err.EPERM || r == Err.EINVAL ? Err.EFAULT : r;
        var bytes = Buffer[..length];
        if (bytes.Contains((byte)0)) return Err.EINVAL;
        try { path = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { return Err.EINVAL; }
        return Err.Ok;
    }

    /// <summary>Walks the path of a request's Grant/Length (Walk).</summary>
    private int WalkArg(Proc p, in VfsRequest req, bool followLast, out Vnode? node)
    {
        node = null;
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string path);
        return r != Err.Ok ? r : Walk(p, path, followLast, out node);
    }

    /// <summary>The caller's open file behind <paramref name="fd"/>, or null.</summary>
    private static OpenFile? FileOf(Proc p, int fd) => fd >= 0 && fd < p.Fds.Length ? p.Fds[fd] : null;

    private static FsRequest Req(uint ino) => new() { Ino = ino, Uid = 0, Gid = 0 };

    /// <summary>Maps a grant-copy failure to what a program expects.</summary>
    private static int CopyErr(int r) => r is Err.EPERM or Err.EINVAL or Err.ELOOP ? Err.EFAULT : r;
}
