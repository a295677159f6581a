// mkfs [-b 1024|4096] [-i INODES] DEVICE [SIZE]: writes an empty MINIX v3 file system on DEVICE
// with the MFS engine's Mkfs (the same layout Linux's mkfs.minix -3 writes), through VFS: the
// block special file (e.g. /dev/ram0) is opened for raw reading and writing and its size found
// with lseek to the end. SIZE (bytes, or with K, M, G) uses only the start of the device; a
// regular file needs it. Mkfs checks every parameter before its first write. The device must
// not be mounted (nothing stops you here: MFS would read a file system changing under it).
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;

namespace Bulkhead.Commands.FileTools;

public static class MkfsCommand
{
    private const string Usage = "mkfs [-b 1024|4096] [-i INODES] DEVICE [SIZE]";

    public static int Run(string[] args)
    {
        int blockSize = 1024;
        long inodes = 0, size = 0;
        var words = new List<string>();
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "-b" && i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out blockSize)) continue;
            if (args[i] == "-i" && i + 1 < args.Length && long.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out inodes)) continue;
            if (args[i].StartsWith('-')) return FileCli.Usage(Usage);
            words.Add(args[i]);
        }
        if (words.Count is < 1 or > 2 || (words.Count == 2 && !DdCommand.TryParseSize(words[1], out size))) return FileCli.Usage(Usage);
        string path = words[0];
        int fd = Files.Open(path, VfsCall.O_RDWR);
        if (fd < 0) return FileCli.Fail("mkfs", path, fd);
        try
        {
            int r = Files.Seek(fd, 0, VfsCall.SeekEnd, out long end);
            if (r != Err.Ok) return FileCli.Fail("mkfs", path, r);
            if (size == 0 && end == 0)
            {
                Console.Error.WriteLine($"mkfs: {path}: size 0 (a RAM disk not created, or an empty file); give a SIZE");
                return 1;
            }
            var device = new VfsBlockDevice(fd, size != 0 ? size : end);
            var options = new Mkfs.Options { BlockSize = blockSize, Inodes = inodes };
            var e = Mkfs.Format(device, options, out string reason);
            if (e != MfsError.None)
            {
                if (device.Error != Err.Ok) return FileCli.Fail("mkfs", path, device.Error);
                Console.Error.WriteLine($"mkfs: {path}: {reason} ({e})");
                return 1;
            }
            var sb = Mkfs.Plan(options, device.Size, out _)!;
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{path}: MINIX v3 file system, {sb.BlockSize}-byte blocks, {sb.Zones} blocks, {sb.Inodes} inodes"));
            return 0;
        }
        finally
        {
            Files.Close(fd);
        }
    }

    /// <summary>Mkfs's device: positioned reads and writes of an open VFS descriptor; Flush is fsync.</summary>
    private sealed class VfsBlockDevice(int fd, long size) : IBlockDevice
    {
        /// <summary>The first error a call got, for the message.</summary>
        public int Error { get; private set; }
        public long Size => size;

        public bool Read(long offset, Span<byte> buffer)
        {
            for (int done = 0; done < buffer.Length;)
            {
                int r = Files.ReadAt(fd, offset + done, buffer[done..]);
                if (r <= 0) return Failed(r == 0 ? Err.EIO : r);
                done += r;
            }
            return true;
        }

        public bool Write(long offset, ReadOnlySpan<byte> data)
        {
            int r = Files.WriteAt(fd, offset, data);
            return r == data.Length || Failed(r < 0 ? r : Err.EIO);
        }

        public bool Flush()
        {
            int r = Files.Fsync(fd);
            return r == Err.Ok || Failed(r);
        }

        private bool Failed(int err)
        {
            if (Error == Err.Ok) Error = err;
            return false;
        }
    }
}
