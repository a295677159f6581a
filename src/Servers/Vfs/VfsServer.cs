// VFS, the virtual file system server (docs/vfs.md): the POSIX file calls of programs
// (VfsCall, reached through the policy's `ipc targets USERS`), over the file servers it mounts
// (FsCall) and the block drivers behind device files (BlockClient). Arguments: `root=LABEL`
// names the root file server and `dev=LABEL:MINOR` its block device (`ro` mounts it read-only);
// VFS finds the file server in DS (waiting up to RootWaitMs for it to come up) and mounts it on
// "/". Without them, or when the mount fails, VFS runs without a root (every path is ENOENT)
// until a program mounts one on "/". Events: requests → VfsService; CLOCK → the sweep of dead
// programs; RS's heartbeats are answered by the loop.
// Rules: VFS never blocks on a program (replies with SENDNB); it blocks on a file server only
// for the length of one SENDREC (a dead one ends it with EDEADSRCDST: its mount answers EIO).
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Vfs;

public static class VfsServer
{
    /// <summary>How long VFS waits at start for the root file server to appear in DS.</summary>
    public const int RootWaitMs = 15_000;

    public static int Run(string[] args)
    {
        ServiceRuntime.Start();
        string? root = null, dev = null;
        bool readOnly = false;
        foreach (string a in args.Skip(1).SelectMany(a => a.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (a.StartsWith("root=", StringComparison.Ordinal)) root = a[5..];
            else if (a.StartsWith("dev=", StringComparison.Ordinal)) dev = a[4..];
            else if (a == "ro") readOnly = true;
            else
            {
                SysCall.Diag($"vfs: unexpected argument '{a}' (root=LABEL dev=LABEL:MINOR [ro])");
                return 2;
            }
        }
        if ((root is null) != (dev is null))
        {
            SysCall.Diag("vfs: root= and dev= go together");
            return 2;
        }
        var service = new VfsService();
        var loop = new ServerLoop
        {
            NonBlockingReplies = true, // never block on a program
            BoundGarbage = true,
            OnNotify = m =>
            {
                if (m.Source == Endpoint.Clock) service.Sweep();
            },
        };
        service.Register(loop);
        if (root is not null) MountRoot(service, root, dev!, readOnly);
        ServiceRuntime.InitDone();
        int r = loop.Run();
        SysCall.Diag($"vfs: receive failed: {Err.Name(r)}");
        return 1;
    }

    private static void MountRoot(VfsService service, string root, string dev, bool readOnly)
    {
        var start = Environment.TickCount64;
        int r;
        while (true)
        {
            r = DsClient.RetrieveLabel(root, out _);
            if (r == Err.Ok) r = service.MountRoot(root, dev, readOnly);
            if (r == Err.Ok || Environment.TickCount64 - start > RootWaitMs) break;
            if (r is not (Err.ESRCH or Err.ENOENT or Err.ENXIO)) break;
            Thread.Sleep(100);
        }
        if (r != Err.Ok) SysCall.Diag($"vfs: no root file system: mounting {root} on {dev} failed ({Err.Name(r)}); running without one");
    }
}
