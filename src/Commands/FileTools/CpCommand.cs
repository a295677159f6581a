// cp SOURCE DEST | cp SOURCE... DIRECTORY: copies regular files (or device contents) byte for
// byte; a DEST that is a directory receives SOURCE's base name. The copy is created with mode
// rw-r--r-- or truncated. Errors name the file; exit 1 if any copy failed.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class CpCommand
{
    private const string Usage = "cp SOURCE DEST | cp SOURCE... DIRECTORY";

    public static int Run(string[] args) => FileCli.EachTarget("cp", Usage, args, (source, to) => CopyFile("cp", source, to));

    /// <summary>Copies <paramref name="source"/> to <paramref name="to"/>; 0, or 1 after the error line.</summary>
    public static int CopyFile(string command, string source, string to)
    {
        if (FileCli.IsDirectory(source)) return FileCli.Fail(command, source, Err.EISDIR);
        int r = FileEnd.Open(source, VfsCall.O_RDONLY, out var from);
        if (r < 0) return FileCli.Fail(command, source, r);
        using (from)
        {
            r = FileEnd.Open(to, VfsCall.O_WRONLY | VfsCall.O_CREAT | VfsCall.O_TRUNC, out var into);
            if (r < 0) return FileCli.Fail(command, to, r);
            using (into)
            {
                long n = FileCli.Copy(from!, into!, out bool readFailed);
                if (n < 0) return FileCli.Fail(command, readFailed ? source : to, (int)n);
            }
        }
        return 0;
    }
}
