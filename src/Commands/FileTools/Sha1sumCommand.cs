// sha1sum [FILE...]: the SHA-1 of each file (stdin for "-" or no file), one "HEX  NAME" line
// each as GNU sha1sum prints it. Exit 1 if a file could not be read.
using System.Security.Cryptography;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class Sha1sumCommand
{
    public static int Run(string[] args)
    {
        var paths = args.Length > 1 ? args[1..] : ["-"];
        var buf = new byte[FileCli.CopyBuffer];
        int status = 0;
        foreach (var path in paths)
        {
            int r = FileEnd.Open(path, VfsCall.O_RDONLY, out var from);
            if (r < 0)
            {
                status = FileCli.Fail("sha1sum", path, r);
                continue;
            }
            using (from)
            using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1))
            {
                int n;
                while ((n = from!.Read(buf)) > 0) sha.AppendData(buf, 0, n);
                if (n < 0)
                {
                    status = FileCli.Fail("sha1sum", path, n);
                    continue;
                }
                Console.Out.WriteLine($"{Convert.ToHexStringLower(sha.GetHashAndReset())}  {path}");
                Console.Out.Flush();
            }
        }
        return status;
    }
}
