// df [PATH...]: the space and inodes of the file system each path is on (default "/"), from
// VFS's statfs: 1K-blocks, used, available, use%, inodes, used, free, and the path asked about.
// Exit 1 if a file system could not be asked.
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class DfCommand
{
    public static int Run(string[] args)
    {
        var paths = args.Length > 1 ? args[1..] : ["/"];
        if (paths.Any(p => p.StartsWith('-'))) return FileCli.Usage("df [PATH...]");
        int status = 0;
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{"1K-blocks",10} {"Used",10} {"Available",10} {"Use%",4} {"Inodes",8} {"IUsed",8} {"IFree",8} Path\n");
        foreach (var path in paths)
        {
            int r = Files.StatFs(path, out var fs);
            if (r != Err.Ok)
            {
                status = FileCli.Fail("df", path, r);
                continue;
            }
            long kib = fs.BlockSize / 1024;
            long total = fs.TotalBlocks * kib, free = fs.FreeBlocks * kib, used = total - free;
            long percent = total == 0 ? 0 : (used * 100 + total - 1) / total;
            text.Append(CultureInfo.InvariantCulture,
                $"{total,10} {used,10} {free,10} {percent,3}% {fs.TotalInodes,8} {fs.TotalInodes - fs.FreeInodes,8} {fs.FreeInodes,8} {path}\n");
        }
        Console.Out.Write(text.ToString());
        Console.Out.Flush();
        return status;
    }
}
