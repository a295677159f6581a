// The system-call times of thesis Fig. 5.11 that the file API covers — lseek, open+close, read
// 64k+lseek, write 64k+lseek, creat+wr+del, mkdir+rmdir, rename — measured by one loop over
// either file API: Bulkhead's (VFS through Lib.Vfs.Files; the program `bench-fscalls DIR N`
// that `bench disk` runs inside an instance) or Linux's (libc, called by `bench disk` itself on
// a tmpfs directory). The same managed loop on both sides, so the ratio compares the systems
// under it, not two programs.
// Output: one line per call "NAME MEDIAN_NS P99_NS" over N repetitions (after N/10 + 1 warm-up
// repetitions); a failing call ends the run with "error NAME ERRNO-TEXT" and exit 1.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Bench;

/// <summary>The file calls the loop makes; each answers ≥ 0 or a negative error.</summary>
public interface IFileCalls
{
    int Open(string path, bool create);
    int Close(int fd);
    int Read(int fd, Span<byte> into);
    int Write(int fd, ReadOnlySpan<byte> data);
    int SeekStart(int fd);
    int Unlink(string path);
    int Mkdir(string path);
    int Rmdir(string path);
    int Rename(string from, string to);
}

public static class FsCalls
{
    public static readonly string[] Names = ["lseek", "open+close", "read 64k+lseek", "write 64k+lseek", "creat+wr+del", "mkdir+rmdir", "rename"];

    /// <summary>Median and 99th percentile ns of each call in Names, in DIR (which exists and is
    /// empty); throws IOException naming the call that failed.</summary>
    public static (string Name, long MedianNs, long P99Ns)[] Measure(IFileCalls fs, string dir, int n)
    {
        string file = dir + "/file", other = dir + "/other", sub = dir + "/sub", temp = dir + "/temp";
        var block = new byte[64 * 1024];
        new Random(5).NextBytes(block);
        int fd = Check("creat", fs.Open(file, create: true));
        Check("write", fs.Write(fd, block));
        var results = new List<(string, long, long)>();
        results.Add(Time("lseek", n, () => Check("lseek", fs.SeekStart(fd))));
        results.Add(Time("open+close", n, () => Check("close", fs.Close(Check("open", fs.Open(file, create: false))))));
        results.Add(Time("read 64k+lseek", n, () =>
        {
            if (Check("read", fs.Read(fd, block)) != block.Length) throw new IOException("read: short");
            Check("lseek", fs.SeekStart(fd));
        }));
        results.Add(Time("write 64k+lseek", n, () =>
        {
            if (Check("write", fs.Write(fd, block)) != block.Length) throw new IOException("write: short");
            Check("lseek", fs.SeekStart(fd));
        }));
        var small = block.AsSpan(0, 100).ToArray();
        results.Add(Time("creat+wr+del", n, () =>
        {
            int t = Check("creat", fs.Open(temp, create: true));
            Check("write", fs.Write(t, small));
            Check("close", fs.Close(t));
            Check("unlink", fs.Unlink(temp));
        }));
        results.Add(Time("mkdir+rmdir", n, () =>
        {
            Check("mkdir", fs.Mkdir(sub));
            Check("rmdir", fs.Rmdir(sub));
        }));
        bool there = false;
        results.Add(Time("rename", n, () =>
        {
            Check("rename", there ? fs.Rename(other, file) : fs.Rename(file, other));
            there = !there;
        }));
        Check("close", fs.Close(fd));
        Check("unlink", fs.Unlink(there ? other : file));
        return [.. results];
    }

    private static (string, long, long) Time(string name, int n, Action call)
    {
        for (int i = 0; i < n / 10 + 1; i++) call();
        var ns = new long[n];
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            call();
            ns[i] = (Stopwatch.GetTimestamp() - t0) * 1_000_000_000 / Stopwatch.Frequency;
        }
        Array.Sort(ns);
        return (name, ns[n / 2], ns[Math.Min(n - 1, n * 99 / 100)]);
    }

    private static int Check(string call, int r) => r >= 0 ? r : throw new IOException($"{call} {r}");

    /// <summary>`bench-fscalls DIR N`: Measure over VFS in DIR (made, emptied of what it makes, removed).</summary>
    public static int Run(string[] args)
    {
        if (args.Length != 3 || !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
        {
            Console.Error.WriteLine("usage: bench-fscalls DIR N");
            return 2;
        }
        string dir = args[1];
        int r = Files.Mkdir(dir);
        if (r < 0)
        {
            Console.WriteLine($"error mkdir {Bulkhead.Lib.Ipc.Err.Name(r)}");
            return 1;
        }
        try
        {
            foreach (var (name, median, p99) in Measure(new VfsCalls(), dir, n))
                Console.WriteLine($"{name.Replace(' ', '_')} {median} {p99}");
            return 0;
        }
        catch (IOException e)
        {
            Console.WriteLine($"error {e.Message}");
            return 1;
        }
        finally
        {
            Files.Rmdir(dir);
        }
    }

    private sealed class VfsCalls : IFileCalls
    {
        public int Open(string path, bool create) => Files.Open(path, create ? VfsCall.O_CREAT | VfsCall.O_RDWR | VfsCall.O_TRUNC : VfsCall.O_RDWR);
        public int Close(int fd) => Files.Close(fd);
        public int Read(int fd, Span<byte> into) => Files.Read(fd, into);
        public int Write(int fd, ReadOnlySpan<byte> data) => Files.Write(fd, data);
        public int SeekStart(int fd) => Files.Seek(fd, 0, VfsCall.SeekSet, out _);
        public int Unlink(string path) => Files.Unlink(path);
        public int Mkdir(string path) => Files.Mkdir(path);
        public int Rmdir(string path) => Files.Rmdir(path);
        public int Rename(string from, string to) => Files.Rename(from, to);
    }
}

/// <summary>Linux's file calls through libc, for the same loop on the host; errors as -errno.</summary>
public sealed partial class LibcCalls : IFileCalls
{
    private const int O_RDWR = 2, O_CREAT = 0x40, O_TRUNC = 0x200;

    public int Open(string path, bool create) => R(open(path, create ? O_CREAT | O_RDWR | O_TRUNC : O_RDWR, 0x1a4));
    public int Close(int fd) => R(close(fd));
    public unsafe int Read(int fd, Span<byte> into) { fixed (byte* p = into) return (int)R(read(fd, p, (nint)into.Length)); }
    public unsafe int Write(int fd, ReadOnlySpan<byte> data) { fixed (byte* p = data) return (int)R(write(fd, p, (nint)data.Length)); }
    public int SeekStart(int fd) => (int)R(lseek(fd, 0, 0));
    public int Unlink(string path) => R(unlink(path));
    public int Mkdir(string path) => R(mkdir(path, 0x1ed));
    public int Rmdir(string path) => R(rmdir(path));
    public int Rename(string from, string to) => R(rename(from, to));

    private static int R(int r) => r >= 0 ? r : -Marshal.GetLastPInvokeError();
    private static long R(nint r) => r >= 0 ? r : -Marshal.GetLastPInvokeError();
    private static long R(long r) => r >= 0 ? r : -Marshal.GetLastPInvokeError();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] private static partial int open(string path, int flags, int mode);
    [LibraryImport("libc", SetLastError = true)] private static partial int close(int fd);
    [LibraryImport("libc", SetLastError = true)] private static unsafe partial nint read(int fd, byte* buf, nint count);
    [LibraryImport("libc", SetLastError = true)] private static unsafe partial nint write(int fd, byte* buf, nint count);
    [LibraryImport("libc", SetLastError = true)] private static partial long lseek(int fd, long offset, int whence);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] private static partial int unlink(string path);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] private static partial int mkdir(string path, int mode);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] private static partial int rmdir(string path);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] private static partial int rename(string from, string to);
}
