// rm [-r] [-f] FILE...: unlinks files; -r removes directories and what they hold (depth first),
// -f says nothing about files that do not exist. Without -r a directory is refused (EISDIR).
// Exit 1 if anything could not be removed.
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class RmCommand
{
    private const string Usage = "rm [-r] [-f] FILE...";

    public static int Run(string[] args)
    {
        bool recursive = false, force = false;
        int i = 1;
        for (; i < args.Length && args[i].Length > 1 && args[i][0] == '-'; i++)
        {
            foreach (char c in args[i][1..])
            {
                if (c is 'r' or 'R') recursive = true;
                else if (c == 'f') force = true;
                else return FileCli.Usage(Usage);
            }
        }
        if (i == args.Length) return force ? 0 : FileCli.Usage(Usage);
        int status = 0;
        for (; i < args.Length; i++)
        {
            int r = Remove(args[i], recursive, force);
            if (r != 0) status = 1;
        }
        return status;
    }

    private static int Remove(string path, bool recursive, bool force)
    {
        int r = Files.LStat(path, out var st);
        if (r != Err.Ok) return force && r == Err.ENOENT ? 0 : FileCli.Fail("rm", path, r);
        if ((st.Mode & FsMode.TypeMask) != FsMode.Directory)
        {
            r = Files.Unlink(path);
            return r == Err.Ok ? 0 : FileCli.Fail("rm", path, r);
        }
        if (!recursive) return FileCli.Fail("rm", path, Err.EISDIR);
        var entries = new List<(string Name, uint Ino)>();
        r = Files.ReadDirectory(path, entries);
        if (r != Err.Ok) return FileCli.Fail("rm", path, r);
        int status = 0;
        foreach (var (name, _) in entries)
            if (name is not "." and not ".." && Remove(FileCli.Join(path, name), true, force) != 0) status = 1;
        if (status != 0) return status;
        r = Files.Rmdir(path);
        return r == Err.Ok ? 0 : FileCli.Fail("rm", path, r);
    }
}
