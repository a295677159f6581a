// mkdir [-p] DIRECTORY...: makes directories (rwxr-xr-x); -p makes missing parents too and
// accepts a directory that exists. Exit 1 if any could not be made.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class MkdirCommand
{
    public static int Run(string[] args)
    {
        var words = args.Skip(1).ToList();
        bool parents = words.Remove("-p");
        if (words.Count == 0 || words.Any(w => w.StartsWith('-'))) return FileCli.Usage("mkdir [-p] DIRECTORY...");
        int status = 0;
        foreach (var dir in words)
        {
            int r = parents ? MakeAll(dir) : Files.Mkdir(dir);
            if (r != Err.Ok) status = FileCli.Fail("mkdir", dir, r);
        }
        return status;
    }

    private static int MakeAll(string dir)
    {
        var parts = dir.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string at = dir.StartsWith('/') ? "/" : "";
        foreach (var part in parts)
        {
            at = at.Length == 0 ? part : FileCli.Join(at, part);
            int r = Files.Mkdir(at);
            if (r == Err.EEXIST && FileCli.IsDirectory(at)) continue;
            if (r != Err.Ok) return r;
        }
        return Err.Ok;
    }
}
