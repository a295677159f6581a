// MFS, the MINIX v3 file-system server process (thesis §4.3.1; docs/mfs.md "The server"):
// component `mfs` of bulkhead-image, started by RS (etc/rc) and mounted by VFS. One MfsEngine
// over one block device, driven by one ServerLoop thread that serves the FsCall protocol
// (src/Lib/Fs/FsCall.cs): Mount opens "LABEL MINOR" through a BlockClient (DriverBlockDevice),
// which hides the driver's restarts; every other request goes to the engine, one Do<Call>
// handler per request (MfsServer.Nodes.cs: names and links; MfsServer.Data.cs: read, write,
// directories, links' targets; MfsServer.Attr.cs: stat and attributes; MfsServer.Mount.cs:
// mount, unmount, references, sync).
// Write-back: the engine's cache keeps dirty blocks; the server syncs them every SyncPeriodNs
// (its alarm), on Sync and Unmount, and before a dynamic update (ServiceRuntime.OnSaveState).
// Recovery: a new instance knows no mount and no references; VFS learns that from EBADF and
// mounts again (the disk holds everything synced).
// Rules: nothing in a request is trusted — the caller must be the endpoint whose Mount
// succeeded (EPERM), an inode it names must be one it holds a reference on (EBADF), names are
// 1..NameMax bytes of UTF-8 without '/' or NUL, lengths stay within FsCall's limits, and all of
// it is checked before the engine changes anything. Data moves only through the caller's
// grants, in chunks of at most ChunkBytes through one scratch buffer in the arena. Replies go
// out with SENDNB: a caller that is not waiting loses its answer, the server never blocks.
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;
using Bulkhead.Servers.Mfs.Device;

namespace Bulkhead.Servers.Mfs.Server;

public sealed partial class MfsServer
{
    /// <summary>Bytes moved per SAFECOPY and engine call (the scratch buffer's size).</summary>
    public const int ChunkBytes = 64 * 1024;
    /// <summary>How often dirty blocks are written back.</summary>
    public const long SyncPeriodNs = 5_000_000_000;

    private readonly long _scratch;
    private readonly NodeRefs _refs = new();
    private MfsEngine? _engine;
    private DriverBlockDevice? _device;
    private string _deviceName = "";
    private int _mounter = Endpoint.None;
    private bool _syncFailing;

    private MfsServer(long scratch) => _scratch = scratch;

    public static int Run(string[] args)
    {
        _ = args;
        ServiceRuntime.Start();
        long scratch = ArenaHeap.Allocate(ChunkBytes);
        if (scratch < 0)
        {
            SysCall.Diag($"mfs: no arena for the {ChunkBytes}-byte transfer buffer ({Err.Name((int)scratch)})");
            return 1;
        }
        return new MfsServer(scratch).Serve();
    }

    private int Serve()
    {
        var loop = new ServerLoop
        {
            NonBlockingReplies = true, // never block on a caller that is not waiting
            BoundGarbage = true,
            OnNotify = OnNotify,
        };
        foreach (var (call, handler) in Handlers()) loop.On(call, handler);
        ServiceRuntime.OnSaveState = () => SyncNow("before an update");
        SysCall.Diag("mfs: up, waiting for a mount");
        ServiceRuntime.InitDone();
        int r = loop.Run();
        SysCall.Diag($"mfs: receive failed: {Err.Name(r)}");
        return 1;
    }

    private IEnumerable<(int, RequestHandler)> Handlers() =>
    [
        (FsCall.Mount, DoMount), (FsCall.Unmount, Checked(DoUnmount)), (FsCall.Sync, Checked(DoSync)),
        (FsCall.StatFs, Checked(DoStatFs)), (FsCall.PutNode, Checked(DoPutNode)),
        (FsCall.Lookup, Checked(DoLookup)), (FsCall.Create, Checked(DoCreate)), (FsCall.Mkdir, Checked(DoMkdir)),
        (FsCall.Symlink, Checked(DoSymlink)), (FsCall.Unlink, Checked(DoUnlink)), (FsCall.Rmdir, Checked(DoRmdir)),
        (FsCall.Link, Checked(DoLink)), (FsCall.Rename, Checked(DoRename)),
        (FsCall.ReadLink, Checked(DoReadLink)), (FsCall.Read, Checked(DoRead)), (FsCall.Write, Checked(DoWrite)),
        (FsCall.Truncate, Checked(DoTruncate)), (FsCall.GetDents, Checked(DoGetDents)),
        (FsCall.Stat, Checked(DoStat)), (FsCall.Chmod, Checked(DoChmod)), (FsCall.Chown, Checked(DoChown)),
        (FsCall.Utime, Checked(DoUtime)),
    ];

    /// <summary>One request after Mount, its checks done: the caller, the request (the message's
    /// payload is cleared for the reply), the caller's credentials.</summary>
    private delegate int Call(int caller, in FsRequest req, MfsCred cred, ref Message reply);

    /// <summary>The checks every request but Mount passes first: a file system is mounted (else
    /// EBADF: a restarted server holds no references), the caller is its mounter (EPERM), the
    /// credentials are 16-bit ids (EINVAL).</summary>
    private RequestHandler Checked(Call call) => (ref Message m) =>
    {
        int caller = m.Source;
        var req = m.As<FsRequest>();
        m.Payload = default;
        if (_engine is null) return Err.EBADF;
        if (caller != _mounter) return Err.EPERM;
        if (req.Uid is < 0 or > ushort.MaxValue || req.Gid is < 0 or > ushort.MaxValue) return Err.EINVAL;
        return call(caller, req, new MfsCred((ushort)req.Uid, (ushort)req.Gid), ref m);
    };

    private MfsEngine Engine => _engine!;

    /// <summary>EBADF unless VFS holds a reference on <paramref name="ino"/>.</summary>
    private int Held(uint ino) => _refs.Holds(ino) ? Err.Ok : Err.EBADF;

    /// <summary>The reply value of an engine result (the same errno numbers).</summary>
    private static int E(MfsError e) => -(int)e;

    private Span<byte> Scratch(int length) => Channel.Current.Arena.Slice((int)_scratch, length);

    private void OnNotify(Message m)
    {
        if (m.Source != Endpoint.Clock || _engine is null) return; // DS: the BlockClient looks its label up itself
        if (_engine.Cache.DirtyCount > 0) SyncNow("periodic");
        Arm();
    }

    private static void Arm() => SysCall.SetAlarm(SyncPeriodNs, absolute: false, out _);

    /// <summary>Writes every dirty block back; says so once when it starts or stops failing.</summary>
    private MfsError SyncNow(string why)
    {
        if (_engine is null) return MfsError.None;
        var r = _engine.Sync();
        bool failing = r != MfsError.None;
        if (failing != _syncFailing)
            SysCall.Diag(failing ? $"mfs: {_deviceName}: write-back ({why}) failed: {r}"
                                 : $"mfs: {_deviceName}: write-back works again");
        _syncFailing = failing;
        return r;
    }
}
