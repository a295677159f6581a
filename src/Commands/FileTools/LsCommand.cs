// ls [-l] [-a] [PATH...]: lists directories (names in byte order; dot files only with -a) and
// names the other paths given (default "."). -l gives one line each: mode string, links, uid,
// gid, size (or "major, minor" of a device file), modification time (UTC) and name, with
// "-> target" for a symbolic link. Several paths: each directory under a "PATH:" heading.
// Exit 1 if a path could not be listed.
using System.Globalization;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class LsCommand
{
    public static int Run(string[] args)
    {
        bool longForm = false, all = false;
        var paths = new List<string>();
        foreach (var a in args.Skip(1))
        {
            if (a.Length > 1 && a[0] == '-')
            {
                foreach (char c in a[1..])
                {
                    if (c == 'l') longForm = true;
                    else if (c == 'a') all = true;
                    else return FileCli.Usage("ls [-l] [-a] [PATH...]");
                }
            }
            else paths.Add(a);
        }
        if (paths.Count == 0) paths.Add(".");
        int status = 0;
        var output = new System.Text.StringBuilder();
        for (int i = 0; i < paths.Count; i++)
        {
            string path = paths[i];
            int r = Files.LStat(path, out var st);
            if (r != Err.Ok)
            {
                status = FileCli.Fail("ls", path, r);
                continue;
            }
            if ((st.Mode & FsMode.TypeMask) != FsMode.Directory)
            {
                output.Append(Line(path, path, st, longForm));
                continue;
            }
            if (paths.Count > 1) output.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? "\n" : "")}{path}:\n");
            var entries = new List<(string Name, uint Ino)>();
            r = Files.ReadDirectory(path, entries);
            if (r != Err.Ok)
            {
                status = FileCli.Fail("ls", path, r);
                continue;
            }
            entries.Sort((x, y) => string.CompareOrdinal(x.Name, y.Name));
            foreach (var (name, _) in entries)
            {
                if (!all && name.StartsWith('.')) continue;
                string full = FileCli.Join(path, name);
                if (!longForm)
                {
                    output.Append(name).Append('\n');
                    continue;
                }
                r = Files.LStat(full, out var est);
                if (r != Err.Ok)
                {
                    status = FileCli.Fail("ls", full, r);
                    continue;
                }
                output.Append(Line(full, name, est, true));
            }
        }
        Console.Out.Write(output.ToString());
        Console.Out.Flush();
        return status;
    }

    private static string Line(string full, string name, in VfsStatReply st, bool longForm)
    {
        if (!longForm) return name + "\n";
        int type = st.Mode & FsMode.TypeMask;
        string size = type is FsMode.BlockDevice or FsMode.CharDevice
            ? $"{VfsCall.Major(st.Rdev)}, {VfsCall.Minor(st.Rdev)}"
            : st.Size.ToString(CultureInfo.InvariantCulture);
        string time = DateTimeOffset.FromUnixTimeSeconds(st.Mtime).UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        string link = type == FsMode.Symlink && Files.ReadLink(full, out var target) >= 0 ? $" -> {target}" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{FileCli.ModeString(st.Mode)} {st.Nlinks,3} {st.Uid,5} {st.Gid,5} {size,10} {time} {name}{link}\n");
    }
}
