// cat [FILE...]: writes each file (or stdin for "-" or no file) to stdout, in order. A file
// that cannot be read is reported and skipped; exit 1 if any was, 0 otherwise.
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class CatCommand
{
    public static int Run(string[] args)
    {
        var paths = args.Length > 1 ? args[1..] : ["-"];
        using var stdout = FileEnd.Stdout();
        int status = 0;
        foreach (var path in paths)
        {
            int r = FileEnd.Open(path, VfsCall.O_RDONLY, out var from);
            if (r < 0)
            {
                status = FileCli.Fail("cat", path, r);
                continue;
            }
            using (from)
            {
                long n = FileCli.Copy(from!, stdout, out bool readFailed);
                if (n < 0) status = FileCli.Fail("cat", readFailed ? path : "write error", (int)n);
            }
        }
        return status;
    }
}
