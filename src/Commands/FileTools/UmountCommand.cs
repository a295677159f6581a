// umount DIRECTORY: detaches the file system mounted on DIRECTORY (its file server writes
// everything back first). EBUSY while a file on it is open or a directory in it is in use;
// "not mounted" for a directory no file system is mounted on.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class UmountCommand
{
    public static int Run(string[] args)
    {
        if (args.Length != 2 || args[1].StartsWith('-')) return FileCli.Usage("umount DIRECTORY");
        int r = Files.Umount(args[1]);
        if (r == Err.EINVAL)
        {
            // VFS's answer for a directory that is not the root of a mount.
            Console.Error.WriteLine($"umount: {args[1]}: not mounted");
            return 1;
        }
        return r == Err.Ok ? 0 : FileCli.Fail("umount", args[1], r);
    }
}
