// mv SOURCE DEST | mv SOURCE... DIRECTORY: renames; a DEST that is a directory receives
// SOURCE's base name. Across file systems (EXDEV) a regular file is copied and the source
// unlinked, as mv does; a directory is not moved across. Exit 1 if any move failed.
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class MvCommand
{
    private const string Usage = "mv SOURCE DEST | mv SOURCE... DIRECTORY";

    public static int Run(string[] args) => FileCli.EachTarget("mv", Usage, args, Move);

    private static int Move(string source, string to)
    {
        int r = Files.Rename(source, to);
        if (r == Err.Ok) return 0;
        if (r != Err.EXDEV) return FileCli.Fail("mv", $"{source} to {to}", r);
        r = Files.LStat(source, out var st);
        if (r != Err.Ok) return FileCli.Fail("mv", source, r);
        if ((st.Mode & FsMode.TypeMask) != FsMode.Regular) return FileCli.Fail("mv", $"{source} to {to}", Err.EXDEV);
        if (CpCommand.CopyFile("mv", source, to) != 0) return 1;
        r = Files.Unlink(source);
        return r == Err.Ok ? 0 : FileCli.Fail("mv", source, r);
    }
}
