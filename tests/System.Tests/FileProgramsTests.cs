// The file programs (src/Commands/FileTools) run with `bulkhead-host run` against one booted
// instance (FileInstance: the storage stack of etc/rc): cat of the root image's motd; mkdir, cp,
// mv, rm and what ls -l and stat then say; dd of 32 MiB from /dev/zero and of seeded random bytes
// from the host's stdin, with sha1sum equal to Linux's sha1sum of the same bytes and the bytes read
// back equal; mkfs of ram0, mount, files written, umount, mount again and they are there (and
// fsck.minix finds the RAM disk, read out with dd, clean); mount -t by the file server's label,
// mv across file systems, and a RAM disk of the size etc/rc asks; df and sync; the error line
// and exit status 1 for missing files. Each test uses names of its own under /tmp.
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Bulkhead.System.Tests;

public sealed partial class FileProgramsTests(FileInstance bh, ITestOutputHelper output) : IClassFixture<FileInstance>
{
    private const string Motd = "Welcome to Bulkhead, a dependable multiserver operating system (MINIX 3's design, in C#).\n";

    [Fact]
    public void Cat_Motd_PrintsWhatTheFirstBootWrote()
    {
        Assert.Equal(Motd, bh.Ok("cat", "/etc/motd"));
    }

    [Fact]
    public void MkdirCpMvRm_LsAndStat_ShowEachStep()
    {
        bh.Ok("mkdir", "-p", "/tmp/t1/sub");
        bh.Ok("cp", "/etc/motd", "/tmp/t1/a");
        bh.Ok("cp", "/tmp/t1/a", "/tmp/t1/sub");            // into a directory, under its base name
        Assert.Equal("a\nsub\n", bh.Ok("ls", "/tmp/t1"));
        Assert.Equal(".\n..\na\nsub\n", bh.Ok("ls", "-a", "/tmp/t1"));

        bh.Ok("mv", "/tmp/t1/a", "/tmp/t1/sub/b");
        string ls = bh.Ok("ls", "-l", "/tmp/t1/sub");
        output.WriteLine(ls);
        var lines = ls.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        foreach (var (line, name) in lines.Zip(new[] { "a", "b" }))
            Assert.Matches($@"^-rw-r--r-- +1 +0 +0 +{Motd.Length} \d{{4}}-\d\d-\d\d \d\d:\d\d {name}$", line);
        Assert.Equal("sub\n", bh.Ok("ls", "/tmp/t1"));
        Assert.Matches(@"^drwxr-xr-x +2 +0 +0 +\d+ .* sub$", bh.Ok("ls", "-l", "/tmp/t1").TrimEnd('\n'));
        Assert.Equal(Motd, bh.Ok("cat", "/tmp/t1/sub/b"));

        string stat = bh.Ok("stat", "/tmp/t1/sub/b");
        output.WriteLine(stat);
        Assert.Contains("  File: /tmp/t1/sub/b\n", stat);
        Assert.Matches($@"Size: {Motd.Length} +Blocks: \d+ +IO Block: 1024 +regular file", stat);
        Assert.Matches(@"Links: 1\n", stat);
        Assert.Contains("Access: (0644/-rw-r--r--)  Uid:     0  Gid:     0", stat);
        Assert.Contains("directory", bh.Ok("stat", "/tmp/t1/sub"));
        Assert.Matches(@"Device type: 1,7\n", bh.Ok("stat", "/dev/ram0"));

        var (status, _, stderr) = bh.Run("rm", "/tmp/t1/sub");
        Assert.Equal(1, status);
        Assert.Equal("rm: /tmp/t1/sub: Is a directory (EISDIR)\n", stderr);
        bh.Ok("rm", "/tmp/t1/sub/a");
        Assert.Equal("b\n", bh.Ok("ls", "/tmp/t1/sub"));
        bh.Ok("rm", "-r", "/tmp/t1");
        Assert.Equal("stat: /tmp/t1: No such file or directory (ENOENT)\n", bh.Run("stat", "/tmp/t1").Stderr);
    }

    [GeneratedRegex(@"^(\d+)\+(\d+) records in\n(\d+)\+(\d+) records out\n(\d+) bytes \(([\d.]+ [kMG]B), ([\d.]+ [KMG]iB)\) copied, ([\d.]+) s, ([\d.]+ [kMG]?B/s)\n$")]
    private static partial Regex DdReport();

    [Fact]
    public void Dd_ZerosAndSeededBytesFromStdin_Sha1EqualsTheHostsAndReadsBack()
    {
        const int size = 32 << 20;
        var (status, _, report) = bh.RunBytes(null, "dd", "if=/dev/zero", "of=/tmp/zero.bin", "bs=1M", "count=32");
        output.WriteLine(report);
        Assert.Equal(0, status);
        var m = DdReport().Match(report);
        Assert.True(m.Success, report);
        Assert.Equal(("32", "0", "32", "0", "33554432"), (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value, m.Groups[5].Value));
        Assert.Equal(("34 MB", "32 MiB"), (m.Groups[6].Value, m.Groups[7].Value));
        Assert.Equal($"{LinuxSha1Of(new byte[size])}  /tmp/zero.bin\n", bh.Ok("sha1sum", "/tmp/zero.bin"));

        int seed = Environment.TickCount & 0x7FFFFFFF;
        output.WriteLine($"seed {seed}");
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        (status, _, report) = bh.RunBytes(data, "dd", "of=/tmp/seeded.bin", "bs=1M");
        Assert.True(status == 0, report);
        Assert.StartsWith("32+0 records in\n32+0 records out\n33554432 bytes", report);
        Assert.Equal($"{LinuxSha1Of(data)}  /tmp/seeded.bin\n", bh.Ok("sha1sum", "/tmp/seeded.bin"));
        // sha1sum of stdin, and the bytes back out through dd's stdout (skip, count, odd block).
        var (s1, sum, _) = bh.RunBytes(data, "sha1sum");
        Assert.Equal(0, s1);
        Assert.Equal($"{LinuxSha1Of(data)}  -\n", Encoding.ASCII.GetString(sum));
        var (s2, back, err) = bh.RunBytes(null, "dd", "if=/tmp/seeded.bin", "bs=100000", "skip=3", "count=40");
        Assert.True(s2 == 0, err);
        Assert.StartsWith("40+0 records in\n40+0 records out\n4000000 bytes (4.0 MB, 3.9 MiB) copied, ", err);
        Assert.True(data.AsSpan(300_000, 4_000_000).SequenceEqual(back), "dd's output differs from the bytes written");
        bh.Ok("rm", "/tmp/zero.bin", "/tmp/seeded.bin");
    }

    [FsckFact]
    public void MkfsMount_RamDisk_FilesSurviveUmountAndMountAgain()
    {
        string made = bh.Ok("mkfs", "/dev/ram0");
        Assert.Equal("/dev/ram0: MINIX v3 file system, 1024-byte blocks, 8192 blocks, 2736 inodes\n", made);
        bh.Ok("mkdir", "-p", "/mnt");
        bh.Ok("mount", "/dev/ram0", "/mnt");
        var data = new byte[300_000];
        new Random(7).NextBytes(data);
        try
        {
            Assert.Equal("", bh.Ok("ls", "/mnt"));
            bh.Ok("mkdir", "/mnt/d");
            bh.Ok("cp", "/etc/motd", "/mnt/d/motd");
            Assert.Equal(0, bh.RunBytes(data, "dd", "of=/mnt/d/data", "bs=64K").Status);
            string df = bh.Ok("df", "/mnt");
            output.WriteLine(df);
            Assert.Matches(@"\n +8192 +\d+ +\d+ +\d+% +2736 +4 +2732 /mnt\n", df);
            bh.Ok("umount", "/mnt");
            Assert.Equal("", bh.Ok("ls", "/mnt"));
            Assert.Equal("cat: /mnt/d/motd: No such file or directory (ENOENT)\n", bh.Run("cat", "/mnt/d/motd").Stderr);

            bh.Ok("mount", "/dev/ram0", "/mnt");
            Assert.Equal("d\n", bh.Ok("ls", "/mnt"));
            Assert.Equal("data\nmotd\n", bh.Ok("ls", "/mnt/d"));
            Assert.Equal(Motd, bh.Ok("cat", "/mnt/d/motd"));
            Assert.Equal($"{LinuxSha1Of(data)}  /mnt/d/data\n", bh.Ok("sha1sum", "/mnt/d/data"));
        }
        finally
        {
            bh.Run("umount", "/mnt");
        }
        // The RAM disk read out raw: a file system Linux's fsck.minix finds clean, with exactly these names.
        var (status, image, err) = bh.RunBytes(null, "dd", "if=/dev/ram0", "bs=64K");
        Assert.True(status == 0, err);
        Assert.Equal(8 << 20, image.Length);
        string file = Path.Combine(bh.Host.RunDir, "ram0.img");
        File.WriteAllBytes(file, image);
        Fsck.AssertClean(file);
        Assert.Equal(new[] { "/d", "/d/data", "/d/motd" }, Fsck.Names(file));
    }

    [FsckFact]
    public void MountByLabel_MvAcrossFileSystems_RamDiskOfTheSizeRcAsks()
    {
        // etc/rc asks the memory driver for ram1=2M: mkfs finds 2 MiB.
        Assert.Matches(@"^/dev/ram1: MINIX v3 file system, 1024-byte blocks, 2048 blocks, \d+ inodes\n$", bh.Ok("mkfs", "/dev/ram1"));
        bh.Ok("mkdir", "-p", "/tmp/lbl");
        bh.Ok("mount", "-t", "mfs_2", "/dev/ram1", "/tmp/lbl");
        try
        {
            Assert.Contains("vfs: mounted mfs_2 (", bh.Host.LogTail(), StringComparison.Ordinal);
            // mfs_2 serves one file system at a time: a second mount by its label is refused.
            bh.Ok("mkdir", "-p", "/tmp/lbl2");
            var busy = bh.Run("mount", "-t", "mfs_2", "/dev/ram0", "/tmp/lbl2");
            Assert.True(busy.Status == 1 && busy.Stderr.Contains("(EBUSY)", StringComparison.Ordinal), busy.Stderr);
            Assert.Contains("2048", bh.Ok("df", "/tmp/lbl"), StringComparison.Ordinal);

            // A regular file moved across file systems is copied and unlinked; a directory is not moved.
            bh.Ok("cp", "/etc/motd", "/tmp/lbl/motd");
            bh.Ok("mv", "/tmp/lbl/motd", "/tmp/lbl-motd");
            Assert.Equal(Motd, bh.Ok("cat", "/tmp/lbl-motd"));
            Assert.Equal("", bh.Ok("ls", "/tmp/lbl"));
            bh.Ok("mkdir", "/tmp/lbl/d");
            var dir = bh.Run("mv", "/tmp/lbl/d", "/tmp/lbl-d");
            Assert.Equal((1, "mv: /tmp/lbl/d to /tmp/lbl-d: "), (dir.Status, dir.Stderr[..Math.Min(dir.Stderr.Length, 30)]));
            Assert.Contains("(EXDEV)", dir.Stderr, StringComparison.Ordinal);
            Assert.Equal("d\n", bh.Ok("ls", "/tmp/lbl"));
        }
        finally
        {
            bh.Run("umount", "/tmp/lbl");
            bh.Run("rm", "/tmp/lbl-motd");
        }
        Assert.Contains("vfs: unmounted mfs_2", bh.Host.LogTail(), StringComparison.Ordinal);
    }

    [Fact]
    public void DfAndSync_RootFileSystem_CountsWhatIsWritten()
    {
        var before = DfRow("/");
        Assert.Equal(256 * 1024, before.Total);                    // etc/boot.conf: disk0 256M, 1 KiB blocks
        Assert.Equal(before.Total, before.Used + before.Free);
        Assert.Equal(0, bh.RunBytes(new byte[1 << 20], "dd", "of=/tmp/df.bin", "bs=64K").Status);
        bh.Ok("sync");
        var after = DfRow("/tmp");
        Assert.InRange(after.Used - before.Used, 1024, 1024 + 16);   // the data and its indirect blocks
        Assert.Equal(before.IUsed + 1, after.IUsed);
        bh.Ok("rm", "/tmp/df.bin");
        Assert.Equal(before.Used, DfRow("/").Used);
    }

    private (long Total, long Used, long Free, long IUsed) DfRow(string path)
    {
        string df = bh.Ok("df", path);
        output.WriteLine(df);
        var f = df.Split('\n')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(path, f[7]);
        long N(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        return (N(0), N(1), N(2), N(5));
    }

    [Theory]
    [InlineData("cat", "/x")]
    [InlineData("ls", "/x")]
    [InlineData("stat", "/x")]
    [InlineData("rm", "/x")]
    [InlineData("sha1sum", "/x")]
    [InlineData("df", "/x")]
    [InlineData("mkfs", "/x")]
    [InlineData("umount", "/x")]
    public void MissingFile_ErrorLineAndStatus1(string program, string path)
    {
        var (status, stdout, stderr) = bh.Run(program, path);
        Assert.Equal(1, status);
        Assert.Equal($"{program}: {path}: No such file or directory (ENOENT)\n", stderr);
        if (program != "df") Assert.Equal("", stdout);
    }

    [Theory]
    [InlineData(new[] { "cp", "/x", "/tmp/y" }, "cp: /x: No such file or directory (ENOENT)\n")]
    [InlineData(new[] { "mv", "/x", "/tmp/y" }, "mv: /x to /tmp/y: No such file or directory (ENOENT)\n")]
    [InlineData(new[] { "dd", "if=/x" }, "dd: /x: No such file or directory (ENOENT)\n")]
    [InlineData(new[] { "mkdir", "/etc" }, "mkdir: /etc: File exists (EEXIST)\n")]
    [InlineData(new[] { "cat", "/etc" }, "cat: /etc: Is a directory (EISDIR)\n")]
    [InlineData(new[] { "mount", "/dev/ram0", "/x" }, "mount: /dev/ram0 on /x: No such file or directory (ENOENT)\n")]
    [InlineData(new[] { "mount", "/etc/motd", "/tmp" }, "mount: /etc/motd: not a block special file\n")]
    [InlineData(new[] { "umount", "/tmp" }, "umount: /tmp: not mounted\n")]
    [InlineData(new[] { "mkfs", "/dev/ram3" }, "mkfs: /dev/ram3: size 0 (a RAM disk not created, or an empty file); give a SIZE\n")]
    public void BadOperand_ErrorLineAndStatus1(string[] args, string message)
    {
        var (status, _, stderr) = bh.Run(args);
        Assert.Equal(1, status);
        Assert.Equal(message, stderr);
    }

    private string LinuxSha1Of(byte[] data) => LinuxSha1.Of(data, bh.Host.RunDir);
}
