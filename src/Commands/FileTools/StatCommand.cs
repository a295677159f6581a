// stat FILE...: what VFS says of each file (the link itself for a symbolic link), in GNU stat's
// layout: name, size, blocks, I/O block and type; mount, inode, links and device numbers;
// access bits, uid, gid; the three times (UTC). Exit 1 if any file could not be stated.
using System.Globalization;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class StatCommand
{
    public static int Run(string[] args)
    {
        if (args.Length < 2) return FileCli.Usage("stat FILE...");
        int status = 0;
        foreach (var path in args[1..])
        {
            int r = Files.LStat(path, out var st);
            if (r != Err.Ok)
            {
                status = FileCli.Fail("stat", path, r);
                continue;
            }
            Console.Out.Write(Describe(path, st));
        }
        Console.Out.Flush();
        return status;
    }

    public static string TypeName(int mode) => (mode & FsMode.TypeMask) switch
    {
        FsMode.Regular => "regular file",
        FsMode.Directory => "directory",
        FsMode.Symlink => "symbolic link",
        FsMode.CharDevice => "character special file",
        FsMode.BlockDevice => "block special file",
        FsMode.Fifo => "fifo",
        _ => "unknown",
    };

    private static string Time(uint t) =>
        DateTimeOffset.FromUnixTimeSeconds(t).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Describe(string path, in VfsStatReply st)
    {
        string name = path;
        if ((st.Mode & FsMode.TypeMask) == FsMode.Symlink && Files.ReadLink(path, out var target) >= 0) name += $" -> {target}";
        int type = st.Mode & FsMode.TypeMask;
        string dev = type is FsMode.BlockDevice or FsMode.CharDevice ? $" Device type: {VfsCall.Major(st.Rdev)},{VfsCall.Minor(st.Rdev)}" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"  File: {name}\n" +
            $"  Size: {st.Size,-15} Blocks: {st.Blocks,-10} IO Block: {st.BlockSizeKiB * 1024,-6} {TypeName(st.Mode)}\n" +
            $"Device: {st.Dev,-14} Inode: {st.Ino,-11} Links: {st.Nlinks}{dev}\n" +
            $"Access: ({Convert.ToString(st.Mode & 0xFFF, 8).PadLeft(4, '0')}/{FileCli.ModeString(st.Mode)})  Uid: {st.Uid,5}  Gid: {st.Gid,5}\n" +
            $"Access: {Time(st.Atime)}\nModify: {Time(st.Mtime)}\nChange: {Time(st.Ctime)}\n");
    }
}
