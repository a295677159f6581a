// What the file commands share: the error line ("cat: /x: No such file or directory (ENOENT)",
// exit status 1), path words (join, base name), the ls-style mode string, and a whole-file copy
// between two FileEnds. Rules: a command reports every failure through Fail and never lets an
// exception out; usage errors exit 2.
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class FileCli
{
    /// <summary>Bytes a copy moves per call: one VFS transfer.</summary>
    public const int CopyBuffer = VfsCall.MaxTransfer;

    /// <summary>Prints "<paramref name="command"/>: <paramref name="what"/>: words (ENAME)"; 1.</summary>
    public static int Fail(string command, string what, int err)
    {
        Console.Error.WriteLine($"{command}: {what}: {ErrText.Of(err)}");
        return 1;
    }

    public static int Usage(string usage)
    {
        Console.Error.WriteLine($"usage: {usage}");
        return 2;
    }

    /// <summary>cp's and mv's operands: SOURCE DEST, or SOURCE... DIRECTORY (each into it under its
    /// base name); runs <paramref name="one"/> (source, target → 0 or 1) on each; 1 if any failed.</summary>
    public static int EachTarget(string command, string usage, string[] args, Func<string, string, int> one)
    {
        if (args.Length < 3) return Usage(usage);
        string dest = args[^1];
        bool intoDir = IsDirectory(dest);
        if (args.Length > 3 && !intoDir) return Fail(command, dest, Err.ENOTDIR);
        int status = 0;
        foreach (var source in args[1..^1])
            if (one(source, intoDir ? Join(dest, BaseName(source)) : dest) != 0) status = 1;
        return status;
    }

    public static string Join(string dir, string name) => dir.EndsWith('/') ? dir + name : $"{dir}/{name}";

    public static string BaseName(string path)
    {
        string p = path.TrimEnd('/');
        int slash = p.LastIndexOf('/');
        return slash < 0 ? p : p[(slash + 1)..];
    }

    public static bool IsDirectory(string path) =>
        Files.Stat(path, out var st) == Err.Ok && (st.Mode & FsMode.TypeMask) == FsMode.Directory;

    /// <summary>"drwxr-xr-x": the type letter and the permission bits with setuid, setgid and sticky.</summary>
    public static string ModeString(int mode)
    {
        char type = (mode & FsMode.TypeMask) switch
        {
            FsMode.Directory => 'd',
            FsMode.Symlink => 'l',
            FsMode.CharDevice => 'c',
            FsMode.BlockDevice => 'b',
            FsMode.Fifo => 'p',
            _ => '-',
        };
        Span<char> s = stackalloc char[10];
        s[0] = type;
        const string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) s[1 + i] = (mode & (0x100 >> i)) != 0 ? rwx[i] : '-';
        if ((mode & 0x800) != 0) s[3] = s[3] == 'x' ? 's' : 'S';
        if ((mode & 0x400) != 0) s[6] = s[6] == 'x' ? 's' : 'S';
        if ((mode & 0x200) != 0) s[9] = s[9] == 'x' ? 't' : 'T';
        return new string(s);
    }

    /// <summary>Copies <paramref name="from"/> to its end into <paramref name="to"/>: bytes copied,
    /// or an Err; <paramref name="readFailed"/> tells which side failed.</summary>
    public static long Copy(FileEnd from, FileEnd to, out bool readFailed)
    {
        var buf = new byte[CopyBuffer];
        long total = 0;
        readFailed = false;
        while (true)
        {
            int n = from.Read(buf);
            if (n < 0)
            {
                readFailed = true;
                return n;
            }
            if (n == 0) return total;
            int w = to.Write(buf.AsSpan(0, n));
            if (w < 0) return w;
            total += n;
        }
    }
}
