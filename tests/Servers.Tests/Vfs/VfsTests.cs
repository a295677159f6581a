// VFS's file API through the real processes (VfsKit: vfs over mfs_root over at_wini, and the
// memory driver for device files), as a program sees it through the library: POSIX results of
// open (O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY), read/write/lseek/pread/pwrite (a
// write past the end leaves a hole of zeros), rename over an existing name, rmdir of a
// non-empty directory, link/unlink/symlink/readlink, ELOOP after 8 links, ENOTDIR, EBADF,
// dup/dup2, pipes (EPIPE, end of file), /dev/zero and /dev/null through the memory driver,
// the per-process descriptor limit (EMFILE), mounts (EBUSY while a file is open), a killed
// program's descriptors closed by the sweep, and a killed file server: EIO, no hang.
using Bulkhead.Lib.Vfs;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Servers.Tests.Vfs;

public sealed class VfsTests : IDisposable
{
    private const int Creat = VfsCall.O_CREAT, Excl = VfsCall.O_EXCL, Trunc = VfsCall.O_TRUNC, Append = VfsCall.O_APPEND;
    private const int Rd = VfsCall.O_RDONLY, Wr = VfsCall.O_WRONLY, RdWr = VfsCall.O_RDWR;
    private readonly VfsKit _kit;

    public VfsTests(Xunit.Abstractions.ITestOutputHelper output) => _kit = new VfsKit(output);

    public void Dispose() => _kit.Dispose();

    [Fact]
    public void Files_OpenReadWriteSeek_FollowPosix()
    {
        var p = _kit.Program();
        int fd = p.Fd($"open /a {Creat | Excl | RdWr} 420");
        p.Is("EEXIST", $"open /a {Creat | Excl | RdWr} 420");
        p.Is("100000", $"write {fd} 7 100000");
        p.Is("OK", $"lseek {fd} 0 0");
        Assert.Equal(["100000", VfsAsk.Sha(VfsAsk.Pattern(100000, 7))], p.V($"read {fd} 200000"));
        Assert.Equal(VfsAsk.Sha(VfsAsk.Pattern(100000, 7)), p.V($"pread {fd} 0 100000")[1]);
        p.Is("0", $"read {fd} 10");                           // at the end
        // A write past the end leaves a hole that reads as zeros.
        p.Is("OK", $"lseek {fd} 300000 0");
        p.Is("10", $"write {fd} 3 10");
        var whole = new byte[300010];
        VfsAsk.Pattern(100000, 7).CopyTo(whole, 0);
        VfsAsk.Pattern(10, 3).CopyTo(whole, 300000);
        Assert.Equal(["300010", VfsAsk.Sha(whole)], p.V("cat /a"));
        Assert.Equal("300010", p.V($"lseek {fd} 0 2")[1]);
        p.Is("OK", $"close {fd}");
        p.Is("EBADF", $"close {fd}");
        p.Is("EBADF", $"read {fd} 10");

        // O_APPEND writes at the end whatever the offset; O_TRUNC empties.
        fd = p.Fd($"open /a {Wr | Append} 0");
        p.Is("5", $"writes {fd} tail!");
        p.Is("OK", $"close {fd}");
        Assert.Equal("300015", p.V("stat /a")[2].Split('=')[1]);
        fd = p.Fd($"open /a {Wr | Trunc} 0");
        p.Is("EBADF", $"read {fd} 1");                        // write-only
        p.Is("OK", $"close {fd}");
        Assert.Equal("size=0", p.V("stat /a")[2]);
        p.Is("ENOENT", $"open /nosuch {Rd} 0");
        p.Is("EINVAL", $"open /a {VfsCall.O_ACCMODE} 0");
        p.Is("EINVAL", $"open /a {0x4000_0000} 0");
    }

    [Fact]
    public void Names_RenameLinkRmdirSymlinks_FollowPosix()
    {
        var p = _kit.Program();
        p.Is("OK", "mkdir /d");
        p.Is("EEXIST", "mkdir /d");
        int fd = p.Fd($"open /d/x {Creat | Wr} 420");
        p.Is("3", $"writes {fd} old");
        p.Is("OK", $"close {fd}");
        fd = p.Fd($"open /d/y {Creat | Wr} 420");
        p.Is("3", $"writes {fd} new");
        p.Is("OK", $"close {fd}");
        p.Is("ENOTEMPTY", "rmdir /d");
        p.Is("OK", "rename /d/y /d/x");                        // over an existing name
        Assert.Equal(["OK", "x"], p.V("ls /d"));
        fd = p.Fd($"open /d/x {Rd} 0");
        Assert.Equal(["3", "new"], p.V($"reads {fd} 10"));
        p.Is("OK", $"close {fd}");
        p.Is("OK", "link /d/x /d/hard");
        Assert.Equal("nlinks=2", p.V("stat /d/x")[3]);
        p.Is("OK", "unlink /d/x");
        Assert.Equal("nlinks=1", p.V("stat /d/hard")[3]);
        p.Is("ENOTDIR", $"open /d/hard/z {Rd} 0");
        p.Is("ENOTDIR", "rmdir /d/hard");
        p.Is("EISDIR", "unlink /d");
        p.Is("EISDIR", $"open /d {Wr} 0");
        p.Is("ENOTDIR", $"open /d/hard {Rd | VfsCall.O_DIRECTORY} 0");

        // Symbolic links: relative, absolute, through "..", and a chain longer than 8: ELOOP.
        p.Is("OK", "symlink hard /d/rel");
        p.Is("OK", "symlink /d /abs");
        p.Is("OK", "symlink ../d/rel /d/up");
        Assert.Equal(["4", "hard"], p.V("readlink /d/rel"));
        Assert.Equal("3", p.V("cat /abs/up")[0]);
        Assert.StartsWith("mode=a", p.V("lstat /d/rel")[1], StringComparison.Ordinal);
        Assert.StartsWith("mode=8", p.V("stat /d/rel")[1], StringComparison.Ordinal);
        p.Is("OK", "symlink l1 /d/l0");
        for (int i = 1; i < 9; i++) p.Is("OK", $"symlink l{i + 1} /d/l{i}");
        p.Is("OK", "symlink hard /d/l9");
        p.Is("ELOOP", $"open /d/l0 {Rd} 0");                  // 10 links
        p.Is("0", $"open /d/l2 {Rd} 0");                      // 8 links: fine (descriptor 0, the first free)
        p.Is("OK", "symlink self /d/self");
        p.Is("ELOOP", "stat /d/self");

        // chdir, "..", and rmdir once empty.
        p.Is("OK", "chdir /d");
        Assert.Equal("3", p.V("cat hard")[0]);
        Assert.Equal("3", p.V("cat ../d/./hard")[0]);
        p.Is("OK", "chdir /");
        p.Is("OK", "mkdir /e");
        p.Is("OK", "rmdir /e");
        p.Is("ENOENT", "stat /e");
    }

    [Fact]
    public void Descriptors_DupPipesAndLimits()
    {
        var p = _kit.Program();
        int fd = p.Fd($"open /f {Creat | RdWr} 420");
        Assert.Equal(0, fd);
        p.Is("1", $"dup {fd}");
        p.Is("10", $"dup2 {fd} 10");
        p.Is("EBADF", $"dup2 {fd} 64");
        p.Is("EBADF", $"dup 11");
        p.Is("5", $"writes 10 hello");                        // the offset is shared
        Assert.Equal("5", p.V($"lseek 1 0 1")[1]);
        p.Is("OK", "close 10");
        p.Is("OK", "close 1");
        var pipe = p.Is("OK", "pipe");
        int r = int.Parse(pipe[1]), w = int.Parse(pipe[2]);
        p.Is("6", $"writes {w} piped!");
        Assert.Equal(["6", "piped!"], p.V($"reads {r} 100"));
        p.Is("ESPIPE", $"lseek {r} 0 0");
        p.Is("EBADF", $"read {w} 1");
        p.Is("OK", $"close {w}");
        p.Is("0", $"read {r} 100");                           // no writer: end of file
        pipe = p.Is("OK", "pipe");
        p.Is("OK", $"close {pipe[1]}");
        p.Is("EPIPE", $"writes {pipe[2]} lost");              // no reader
        p.Is("OK", $"close {pipe[2]}");
        p.Is("OK", $"close {r}");
        p.Is("OK", $"close {fd}");
        // 64 descriptors a process, then EMFILE; another process is not affected.
        Assert.Equal(["64", "EMFILE"], p.V("openmany /f 100"));
        var q = _kit.Program("other");
        Assert.Equal(["10", "OK"], q.V("openmany /f 10"));
    }

    [Fact]
    public void Devices_ZeroAndNull_ThroughTheMemoryDriver()
    {
        var p = _kit.Program();
        p.Is("OK", "mkdir /dev");
        p.Is("OK", $"mknod /dev/zero 21b6 {VfsCall.MakeDev(1, 5)}");
        p.Is("OK", $"mknod /dev/null 21b6 {VfsCall.MakeDev(1, 3)}");
        p.Is("OK", $"mknod /dev/nodriver 21b6 {VfsCall.MakeDev(9, 0)}");
        int z = p.Fd($"open /dev/zero {Rd} 0");
        Assert.Equal(["100000", VfsAsk.Sha(new byte[100000])], p.V($"read {z} 100000"));
        Assert.Equal(["777", VfsAsk.Sha(new byte[777])], p.V($"pread {z} 12345 777"));
        int n = p.Fd($"open /dev/null {RdWr} 0");
        p.Is("70000", $"write {n} 1 70000");
        p.Is("0", $"read {n} 10");
        p.Is("ENXIO", $"open /dev/nodriver {Rd} 0");
        Assert.Equal("rdev=261", p.V("stat /dev/zero")[5]);
    }

    [Fact]
    public void KilledProgram_ItsFilesAreClosed_AndTheRootCanBeUnmounted()
    {
        var p = _kit.Program();
        p.Fd($"open /held {Creat | Wr} 420");
        var admin = _kit.Program("admin");
        admin.Is("EBUSY", "umount /");                        // a file is open on it
        _kit.Rs.Sys.Kernel.Kill(p.Endpoint, 9);
        TestSystem.WaitUntil(() => admin.V("umount /")[0] == "OK", "the killed program's file closed (sweep)");
        admin.Is("ENOENT", "stat /held");                     // no root now
        admin.Is("OK", "mount c0d0:0 / mfs_root 0");
        admin.Is("OK", "stat /held");                         // the same file system again
    }

    [Fact]
    public void KilledFileServer_CallsOnItsMountAnswerEio_NotAHang()
    {
        var p = _kit.Program();
        int fd = p.Fd($"open /f {Creat | RdWr} 420");
        p.Is("3", $"writes {fd} abc");
        _kit.Rs.Sys.Kernel.Kill(Bulkhead.Tests.Harness.RsKit.Ep(_kit.Rs.Row("mfs_root")), 9);
        p.Is("EIO", $"pread {fd} 0 3");
        p.Is("OK", $"close {fd}");
    }

    [Fact]
    public void Attributes_PositionedIo_Fchdir_Statfs_FollowPosix()
    {
        var p = _kit.Program();
        int fd = p.Fd($"open /f {Creat | RdWr} 420");
        p.Is("1000", $"pwrite {fd} 5000 9 1000");                  // the offset stays at 0
        Assert.Equal("0", p.V($"lseek {fd} 0 1")[1]);
        var st = p.V($"fstat {fd}");
        Assert.Equal(["size=6000", "nlinks=1"], st[2..4]);
        Assert.Equal(VfsAsk.Sha(new byte[5000]), p.V($"pread {fd} 0 5000")[1]);   // the hole
        Assert.Equal(VfsAsk.Sha(VfsAsk.Pattern(1000, 9)), p.V($"pread {fd} 5000 2000")[1]);
        p.Is("0", $"pread {fd} 6000 10");
        p.Is("EINVAL", $"pread {fd} -1 10");
        p.Is("OK", $"ftruncate {fd} 10");
        Assert.Equal("size=10", p.V("stat /f")[2]);
        p.Is("OK", "chmod /f 1c0");
        Assert.Equal("mode=81c0", p.V("stat /f")[1]);
        p.Is("OK", "chown /f 7 8");
        Assert.Equal(["uid=7", "gid=8"], p.V("stat /f")[7..9]);
        p.Is("ENOENT", "chmod /nosuch 1ff");
        p.Is("ENOENT", "chown /nosuch 0 0");
        p.Is("OK", "mkdir /d");
        int d = p.Fd($"open /d {Rd | VfsCall.O_DIRECTORY} 0");
        p.Is("OK", $"fchdir {d}");
        p.Is("ENOTDIR", $"fchdir {fd}");
        p.Is("OK", "link ../f here");                              // relative to the new directory
        Assert.Equal("nlinks=2", p.V("stat /f")[3]);
        p.Is("EISDIR", $"read {d} 10");
        p.Is("EBADF", $"write {d} 1 10");
        p.Is("ENOTDIR", $"open /f/x {Creat | Wr} 420");
        p.Is("EEXIST", "symlink x /d/here");
        p.Is("EINVAL", "readlink /f");
        p.Is("ENOENT", "readlink /nosuch");
        var fs = p.V("statfs /d");
        Assert.Equal(["OK", "bsize=1024"], fs[..2]);
        p.Is("EINVAL", "umount /d");                                // not a mount
        p.Is("OK", $"close {d}");
        p.Is("OK", $"close {fd}");
        p.Is("EBADF", "fsync 0");
    }
}
