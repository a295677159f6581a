// sync: writes every mounted file system's cached blocks to its device (VFS's Sync).
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class SyncCommand
{
    public static int Run(string[] args)
    {
        if (args.Length > 1) return FileCli.Usage("sync");
        int r = Files.Sync();
        return r == Err.Ok ? 0 : FileCli.Fail("sync", "sync", r);
    }
}
