// mount [-r] [-t LABEL] DEVICE DIRECTORY: mounts the MINIX file system on DEVICE (a block
// special file such as /dev/ram0, or LABEL:MINOR of a block driver) on DIRECTORY, served by the
// file-server process LABEL. A program cannot start processes, so the servers are started
// beforehand (etc/rc starts the spare MFS instances SpareServers); without -t mount takes the
// first of them that is not serving a mount already. -r mounts read-only. A DEVICE path that is
// not a block special file is refused here with that reason (VFS would say EINVAL).
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class MountCommand
{
    private const string Usage = "mount [-r] [-t LABEL] DEVICE DIRECTORY";

    /// <summary>The MFS instances etc/rc starts for mounts other than the root.</summary>
    public static readonly IReadOnlyList<string> SpareServers = ["mfs_1", "mfs_2"];

    public static int Run(string[] args)
    {
        bool readOnly = false;
        string? label = null;
        var words = new List<string>();
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "-r") readOnly = true;
            else if (args[i] == "-t" && i + 1 < args.Length) label = args[++i];
            else if (args[i].StartsWith('-')) return FileCli.Usage(Usage);
            else words.Add(args[i]);
        }
        if (words.Count != 2) return FileCli.Usage(Usage);
        string device = words[0], point = words[1];
        if (device.StartsWith('/') && Files.Stat(device, out var st) == Err.Ok && (st.Mode & FsMode.TypeMask) != FsMode.BlockDevice)
        {
            Console.Error.WriteLine($"mount: {device}: not a block special file");
            return 1;
        }
        int r = Err.ESRCH;
        foreach (var server in label is null ? SpareServers : [label])
        {
            r = Files.Mount(device, point, server, readOnly);
            if (r == Err.Ok) return 0;
            // Busy with another mount, or not running: the next spare may do.
            if (label is not null || r is not (Err.EBUSY or Err.ESRCH)) break;
        }
        return FileCli.Fail("mount", $"{device} on {point}", r);
    }
}
