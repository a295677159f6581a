// `bench-tree OP DIR SEED FILES`: the file-tree workloads of `bench filter` (thesis Fig. 5.14),
// a user program run inside Bulkhead on the tree TreePlan.Make(SEED, FILES) rooted at DIR:
//   make    create DIR and the tree (the thesis's "copy source tree": the bytes come from the
//           seed rather than from another file system);
//   touch   walk the tree and chmod every file (Bulkhead has no utime: chmod, like touch,
//           rewrites the inode);
//   grep    walk the tree, read every file and count TreePlan.Needle;
//   check   walk the tree and lstat every file and directory, checking what a file-system check
//           can see from outside: the counts, the total size, each file's link count (1) and each
//           directory's (2 + its subdirectories) — Bulkhead has no fsck program yet;
//   delete  walk the tree depth-first, unlink every file and remove every directory and DIR.
// A walk reads each directory (getdents) and lstats each entry, as find(1) does. Every operation
// ends with sync, and its time includes it (the thesis's runs synced after each benchmark).
// Output: one line "seconds S files F dirs D bytes B matches M"; anything that fails or that
// differs from the plan ends the run with "error WHAT" and exit status 1 (usage: 2).
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Bench;

public static class FileTree
{
    private const int TouchMode = 0x180; // rw-------

    private sealed class Counts
    {
        public int Files, Dirs, Matches;
        public long Bytes;
    }

    public static int Run(string[] args)
    {
        if (args.Length != 5 || args[1] is not ("make" or "touch" or "grep" or "check" or "delete")
            || !int.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out int seed)
            || !int.TryParse(args[4], NumberStyles.None, CultureInfo.InvariantCulture, out int files) || files < 1)
        {
            Console.Error.WriteLine("usage: bench-tree make|touch|grep|check|delete DIR SEED FILES");
            return 2;
        }
        string op = args[1], root = args[2];
        var plan = TreePlan.Make(seed, files);
        var c = new Counts();
        try
        {
            long t0 = Stopwatch.GetTimestamp();
            switch (op)
            {
                case "make": Make(plan, root, c); break;
                case "delete": Walk(root, c, Delete); Check("rmdir " + root, Files.Rmdir(root)); break;
                case "touch": Walk(root, c, Touch); break;
                case "grep": Walk(root, c, (path, st, _) => c.Matches += Grep(path, st)); break;
                default: Walk(root, c, CheckEntry); break;
            }
            Check("sync", Files.Sync());
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (c.Files != plan.Files || c.Dirs != plan.Dirs || c.Bytes != plan.Bytes || (op == "grep" && c.Matches != plan.Matches))
                throw new IOException($"found {c.Files} files, {c.Dirs} dirs, {c.Bytes} bytes, {c.Matches} matches; the plan has "
                                      + $"{plan.Files}, {plan.Dirs}, {plan.Bytes}, {plan.Matches}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seconds {seconds:F4} files {c.Files} dirs {c.Dirs} bytes {c.Bytes} matches {c.Matches}"));
            return 0;
        }
        catch (IOException e)
        {
            Console.WriteLine($"error {e.Message}");
            return 1;
        }
    }

    private static int Check(string what, int r) => r >= 0 ? r : throw new IOException($"{what}: {Err.Name(r)}");

    private static void Make(TreePlan plan, string root, Counts c)
    {
        Check("mkdir " + root, Files.Mkdir(root));
        var data = new byte[TreePlan.SizeQuantiles[^1]];
        foreach (var e in plan.Entries)
        {
            string path = root + e.Path;
            if (e.IsDir)
            {
                Check("mkdir " + path, Files.Mkdir(path));
                c.Dirs++;
                continue;
            }
            plan.Fill(e, data);
            int fd = Check("creat " + path, Files.Open(path, VfsCall.O_CREAT | VfsCall.O_WRONLY | VfsCall.O_TRUNC));
            int n = Files.Write(fd, data.AsSpan(0, e.Size));
            Files.Close(fd);
            if (Check("write " + path, n) != e.Size) throw new IOException($"write {path}: {n} of {e.Size} bytes");
            c.Files++;
            c.Bytes += e.Size;
            if (e.NeedleAt >= 0) c.Matches++;
        }
    }

    /// <summary>Visits every entry under <paramref name="dir"/>, a directory after what it holds
    /// (so that Delete can remove it) and with the number of its subdirectories; counts files,
    /// their bytes and directories. The number of subdirectories of <paramref name="dir"/>.</summary>
    private static int Walk(string dir, Counts c, Action<string, VfsStatReply, int> visit)
    {
        var entries = new List<(string Name, uint Ino)>();
        Check("read directory " + dir, Files.ReadDirectory(dir, entries));
        int subdirs = 0;
        foreach (var (name, _) in entries)
        {
            if (name is "." or "..") continue;
            string path = dir + "/" + name;
            Check("lstat " + path, Files.LStat(path, out var st));
            if (IsDir(st))
            {
                visit(path, st, Walk(path, c, visit));
                c.Dirs++;
                subdirs++;
                continue;
            }
            c.Files++;
            c.Bytes += st.Size;
            visit(path, st, 0);
        }
        return subdirs;
    }

    private static bool IsDir(VfsStatReply st) => (st.Mode & FsMode.TypeMask) == FsMode.Directory;

    private static void Touch(string path, VfsStatReply st, int subdirs)
    {
        if (!IsDir(st)) Check("chmod " + path, Files.Chmod(path, TouchMode));
    }

    private static readonly byte[] s_needle = System.Text.Encoding.ASCII.GetBytes(TreePlan.Needle);
    private static readonly byte[] s_buffer = new byte[64 << 10];
    /// <summary>The times Needle occurs in file <paramref name="path"/> (0 for a directory).</summary>
    private static int Grep(string path, VfsStatReply st)
    {
        if (IsDir(st)) return 0;
        int fd = Check("open " + path, Files.Open(path, VfsCall.O_RDONLY));
        int length = 0, n;
        while (length < s_buffer.Length && (n = Files.Read(fd, s_buffer.AsSpan(length))) != 0)
        {
            if (n < 0)
            {
                Files.Close(fd);
                Check("read " + path, n);
            }
            length += n;
        }
        Files.Close(fd);
        if (length == s_buffer.Length) throw new IOException($"{path}: larger than {s_buffer.Length} bytes");
        int matches = 0;
        var data = s_buffer.AsSpan(0, length);
        for (int at; (at = data.IndexOf(s_needle)) >= 0; data = data[(at + 1)..]) matches++;
        return matches;
    }

    private static void CheckEntry(string path, VfsStatReply st, int subdirs)
    {
        int links = IsDir(st) ? 2 + subdirs : 1;
        if (st.Nlinks != links) throw new IOException($"{path}: {st.Nlinks} links, not {links}");
    }

    private static void Delete(string path, VfsStatReply st, int subdirs) =>
        Check((IsDir(st) ? "rmdir " : "unlink ") + path, IsDir(st) ? Files.Rmdir(path) : Files.Unlink(path));
}
