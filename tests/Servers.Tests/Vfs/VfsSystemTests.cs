// VFS as a whole system (VfsKit): a 16 MiB file byte-exact and fsck.minix clean after, a second
// file system (a RAM disk of the memory driver holding an image our Mkfs made, written through
// its block special file) mounted with path lookup across the mount both ways, EXDEV and EBUSY;
// raw reads of the disk's block special file equal to the image's bytes; a read of an empty
// pipe that waits without holding VFS up; and bad input (descriptors, lengths, grants, names,
// calls) answered with errors while VFS stays up.
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Vfs;
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;
using Bulkhead.Servers.Tests.Mfs;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Servers.Tests.Vfs;

public sealed class VfsSystemTests : IDisposable
{
    private const int Creat = VfsCall.O_CREAT, Rd = VfsCall.O_RDONLY, Wr = VfsCall.O_WRONLY, RdWr = VfsCall.O_RDWR;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly TempDir _tmp = new();
    private VfsKit? _kit;

    public VfsSystemTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    private VfsKit Kit(long diskBytes = 16L << 20) => _kit = new VfsKit(_output, diskBytes);

    public void Dispose()
    {
        _kit?.Dispose();
        _tmp.Dispose();
    }

    private static byte[] ImageBytes(string path, long at, int length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var b = new byte[length];
        f.Position = at;
        f.ReadExactly(b);
        return b;
    }

    [MinixFact]
    public void LargeFile_16MiB_ByteExact_AndFsckClean()
    {
        var kit = Kit(64L << 20);
        var p = kit.Program();
        const int Size = 16 << 20;
        int fd = p.Fd($"open /big {Creat | Wr} 420");
        Assert.Equal(Size.ToString(), p.V($"write {fd} 11 {Size}", 120_000)[0]);
        p.Is("OK", $"close {fd}");
        Assert.Equal([Size.ToString(), VfsAsk.Sha(VfsAsk.Pattern(Size, 11))], p.V("cat /big", 120_000));
        fd = p.Fd($"open /big {Rd} 0");
        Assert.Equal(VfsAsk.Sha(VfsAsk.Pattern(Size, 11).AsSpan(Size - 5000, 5000)), p.V($"pread {fd} {Size - 5000} 100000")[1]);
        p.Is("OK", $"close {fd}");
        p.Is("OK", "mkdir /dir");
        p.Is("OK", "symlink big /dir/link");
        p.Is("OK", "sync");
        MinixTools.AssertClean(kit.ImagePath);
        Assert.Equal(["/big", "/dir", "/dir/link"], MinixTools.ListNames(kit.ImagePath));
    }

    [Fact]
    public void Mount_RamDisk_LookupCrossesBothWays_ExdevAndEbusy()
    {
        var kit = Kit();
        // A RAM disk of 1 MiB (memory minor 7), filled with an image our Mkfs made.
        const int RamBytes = 1 << 20, Ram0 = 7;
        int mem = RsKit.Ep(kit.Rs.Row("memory"));
        foreach (string blk in new[] { $"open {mem} {Ram0} 3", $"ioctl {mem} {Ram0} {BlockDriverCall.IoctlRamSize} {RamBytes}", $"close {mem} {Ram0}" })
        {
            string a = kit.Rs.Client.Ask("blk " + blk);
            Assert.True(Puppet.Field(a, 1) == "OK" && Puppet.Field(a, 2) == "OK", $"blk {blk}: {a}");
        }
        string img = _tmp.File("ram.img");
        using (var blank = File.Create(img)) blank.SetLength(RamBytes);
        using (var dev = new FileBlockDevice(img))
            Assert.Equal(MfsError.None, Mkfs.Format(dev, new Mkfs.Options(), out _));

        var p = kit.Program();
        p.Is("OK", $"mknod /ram0 {FsMode.BlockDevice | 0x180:x} {VfsCall.MakeDev(1, Ram0)}");
        // Programs cannot see the host's files: the image goes over as its blocks that are not zero.
        int fd = p.Fd($"open /ram0 {Wr} 0");
        var bytes = File.ReadAllBytes(img);
        int sent = 0;
        for (int at = 0; at < RamBytes; at += 1024)
        {
            var block = bytes.AsSpan(at, 1024);
            if (!block.ContainsAnyExcept((byte)0)) continue;
            p.Is("1024", $"pwritehex {fd} {at} {Convert.ToHexString(block)}");
            sent++;
        }
        Assert.InRange(sent, 3, 200);
        p.Is("OK", $"close {fd}");
        kit.Up("mfs_ram", "mfs", "mfs");
        p.Is("OK", "mkdir /mnt");
        fd = p.Fd($"open /top {Creat | Wr} 420");
        p.Is("3", $"writes {fd} top");
        p.Is("OK", $"close {fd}");
        p.Is("ENOTDIR", "mount /ram0 /top mfs_ram 0");
        p.Is("EINVAL", "mount /top /mnt mfs_ram 0");           // not a block special file
        p.Is("OK", "mount /ram0 /mnt mfs_ram 0");
        p.Is("EBUSY", "mount /ram0 /mnt mfs_ram 0");
        p.Is("OK", "mkdir /mnt2");
        p.Is("EBUSY", "mount /ram0 /mnt2 mfs_other 0");             // the device is mounted already
        p.Is("EBUSY", "mount c0d0:0 /mnt2 mfs_other 0");             // so is the root's

        // Down into the mount, and ".." out of it.
        fd = p.Fd($"open /mnt/f {Creat | RdWr} 420");
        p.Is("5", $"writes {fd} inram");
        Assert.NotEqual(p.V("stat /top")[6], p.V("stat /mnt/f")[6]);      // dev= differs
        Assert.Equal(["OK", "f"], p.V("ls /mnt"));
        p.Is("OK", "chdir /mnt");
        Assert.Equal("5", p.V("cat f")[0]);
        Assert.Equal("3", p.V("cat ../top")[0]);
        Assert.Equal("5", p.V("cat ../mnt/./f")[0]);
        Assert.Equal("3", p.V("cat ../../../top")[0]);               // ".." of the root stays
        p.Is("EXDEV", "link /top /mnt/hard");
        p.Is("EXDEV", "rename /mnt/f /moved");
        p.Is("EBUSY", "rmdir /mnt");
        var admin = kit.Program("admin");
        admin.Is("EBUSY", "umount /mnt");                            // an open file and a working directory
        p.Is("OK", $"close {fd}");
        admin.Is("EBUSY", "umount /mnt");                            // the working directory
        p.Is("OK", "chdir /");
        admin.Is("OK", "umount /mnt");
        admin.Is("EINVAL", "umount /mnt");                           // not a mount any more
        p.Is("ENOENT", "stat /mnt/f");
        p.Is("OK", "mount /ram0 /mnt mfs_ram 1");                    // read-only this time
        Assert.Equal("5", p.V("cat /mnt/f")[0]);                     // still on the RAM disk
        p.Is("EROFS", $"open /mnt/g {Creat | Wr} 420");
        Assert.Equal("running", kit.Rs.Row("vfs")[2]);
    }

    [Fact]
    public void Devices_RawDiskReads_EqualTheImage_AndZeroNull()
    {
        var kit = Kit();
        var p = kit.Program();
        p.Is("OK", $"mknod /c0d0 {FsMode.BlockDevice | 0x180:x} {VfsCall.MakeDev(3, 0)}");
        p.Is("OK", $"mknod /zero {FsMode.CharDevice | 0x1b6:x} {VfsCall.MakeDev(1, 5)}");
        p.Is("OK", $"mknod /null {FsMode.CharDevice | 0x1b6:x} {VfsCall.MakeDev(1, 3)}");
        p.Is("OK", "sync");
        int fd = p.Fd($"open /c0d0 {Rd} 0");
        Assert.Equal(["4096", VfsAsk.Sha(ImageBytes(kit.ImagePath, 1024, 4096))], p.V($"pread {fd} 1024 4096"));     // the superblock and on
        Assert.Equal(["777", VfsAsk.Sha(ImageBytes(kit.ImagePath, 1000, 777))], p.V($"pread {fd} 1000 777"));        // sector edges
        Assert.Equal(["200000", VfsAsk.Sha(ImageBytes(kit.ImagePath, 0, 200000))], p.V($"read {fd} 200000"));         // at the offset
        Assert.Equal(["1000", VfsAsk.Sha(ImageBytes(kit.ImagePath, 200000, 1000))], p.V($"read {fd} 1000"));          // which moved on
        Assert.Equal((16L << 20).ToString(), p.V($"lseek {fd} 0 2")[1]);
        p.Is("0", $"read {fd} 10");                                   // the end of the disk
        p.Is("EBADF", $"write {fd} 1 10");                            // opened read-only
        p.Is("OK", $"close {fd}");
        int z = p.Fd($"open /zero {Rd} 0");
        Assert.Equal(["262144", VfsAsk.Sha(new byte[262144])], p.V($"read {z} 1000000"));   // one call moves at most MaxTransfer
        int n = p.Fd($"open /null {Wr} 0");
        p.Is("500000", $"write {n} 4 500000");
        p.Is("0", $"read {z} 0");
        Assert.Equal(["OK", "c0d0,null,zero"], p.V("ls /"));
    }

    [Fact]
    public void Pipe_EmptyRead_WaitsWithoutHoldingVfs_UntilTheReaderDies()
    {
        var kit = Kit();
        var p = kit.Program();
        var pipe = p.Is("OK", "pipe");
        var waiting = p.AskAsync($"vfs reads {pipe[1]} 10");
        Thread.Sleep(500);
        Assert.False(waiting.IsCompleted, "a read of an empty pipe with a writer answered at once");
        var q = kit.Program("other");
        q.Is("OK", "mkdir /stillserved");                            // VFS serves others meanwhile
        Assert.Equal(Bulkhead.Lib.Ipc.Err.Ok, kit.Rs.Sys.Kernel.Kill(p.Endpoint, 9));
        q.Is("OK", "rmdir /stillserved");
        Assert.Equal(["running", "0"], kit.Rs.Row("vfs")[2..4]);
    }

    [Fact]
    public void BadInput_IsAnsweredWithErrors_AndVfsStaysUp()
    {
        var kit = Kit();
        var p = kit.Program();
        int fd = p.Fd($"open /f {Creat | RdWr} 420");
        int read = VfsCall.Read - VfsCall.Base, open = VfsCall.Open - VfsCall.Base, write = VfsCall.Write - VfsCall.Base;
        p.Is("EBADF", $"raw {read} -1 0 10 0");
        p.Is("EBADF", $"raw {read} 64 0 10 0");
        p.Is("EBADF", $"raw {read} {int.MaxValue} 0 10 0");
        p.Is("EFAULT", $"raw {write} {fd} 9999 10 0");                 // a grant that does not exist
        p.Is("5", $"writes {fd} hello");
        p.Is("OK", $"lseek {fd} 0 0");
        p.Is("EFAULT", $"raw {read} {fd} 9999 10 0");
        Assert.Equal(["5", "hello"], p.V($"reads {fd} 10"));          // the failed read moved nothing
        p.Is("EINVAL", $"raw {read} {fd} 0 -5 0");
        p.Is("ENAMETOOLONG", $"raw {open} 0 0 {VfsCall.PathMax + 1} 0");
        p.Is("EFAULT", $"raw {open} 0 9999 10 0");
        p.Is("EINVAL", $"raw {open} 0 0 -1 0");
        p.Is("EBADF", $"raw {VfsCall.Dup2 - VfsCall.Base} {fd} 0 0 -3");
        Assert.StartsWith("E", p.V($"raw 200 0 0 0 0")[0], StringComparison.Ordinal);   // no such call
        p.Is("ENAMETOOLONG", $"open /{new string('n', FsCall.NameMax + 1)} {Creat | Wr} 420");
        p.Is("ENAMETOOLONG", $"open /{new string('n', VfsCall.PathMax)} {Rd} 0");   // the library refuses it
        p.Is("EINVAL", "mount nolabel:x /mnt mfs 0");
        p.Is("ENOENT", "mount /nosuch / mfs 0");
        p.Is("ENOENT", "chdir /nosuch");
        p.Is("ENOTDIR", "chdir /f");
        p.Is("EBADF", "fchdir 63");
        p.Is("EINVAL", $"lseek {fd} 0 7");
        p.Is("EINVAL", $"lseek {fd} -1 0");
        p.Is("EINVAL", $"ftruncate {fd} -1");
        p.Is("ENOENT", "truncate /nosuch 0");
        p.Is("EISDIR", "truncate / 0");
        p.Is("OK", "truncate /f 100");
        Assert.Equal("size=100", p.V("stat /f")[2]);
        p.Is("OK", "fsync " + fd);
        p.Is("EBADF", "fsync 40");
        p.Is("OK", "stat /f");
        Assert.Equal(["running", "0"], kit.Rs.Row("vfs")[2..4]);              // never restarted
    }
}
