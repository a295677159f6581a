// Our mkfs against Linux's: the same layout as `mkfs.minix -3` for the same size and inode
// count, images that `fsck.minix -f` passes (1 KiB blocks — fsck.minix reads only 1 KiB
// blocks), 4 KiB images that round-trip through the engine, and parameters that cannot make a
// file system refused with a reason.
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;
using Bulkhead.Servers.Mfs.Disk;
using static Bulkhead.Servers.Tests.Mfs.MfsKit;

namespace Bulkhead.Servers.Tests.Mfs;

public class MkfsTests
{
    [MinixTheory]
    [InlineData(1440, 0)]
    [InlineData(8192, 2736)]
    [InlineData(65536, 4096)]
    [InlineData(70000, 30000)]
    public void Mkfs_SameInodes_SameLayoutAsLinux(int blocks, int inodes)
    {
        using var tmp = new TempDir();
        string linux = MinixTools.MakeImage(tmp, blocks, inodes);
        Superblock theirs;
        using (var dev = new FileBlockDevice(linux, writable: false))
        {
            var raw = new byte[32];
            Assert.True(dev.Read(Superblock.Offset, raw));
            theirs = Superblock.Read(raw);
        }
        var ours = Mkfs.Plan(new Mkfs.Options { Inodes = theirs.Inodes }, blocks * 1024L, out string reason);
        Assert.True(ours is not null, reason);
        Assert.Equal(theirs with { DiskVersion = 0 }, ours);
    }

    [MinixTheory]
    [InlineData(1440)]
    [InlineData(20000)]
    public void Mkfs_OneKiB_FsckClean(int blocks)
    {
        using var tmp = new TempDir();
        string img = tmp.File("ours.img");
        using (var f = File.Create(img)) f.SetLength(blocks * 1024L);
        using (var dev = new FileBlockDevice(img))
            Ok(Mkfs.Format(dev, new Mkfs.Options { BlockSize = 1024 }, out _), "mkfs");
        MinixTools.AssertClean(img);
        using (var dev = new FileBlockDevice(img))
        {
            var e = Mount(dev);
            Mkdir(e, "/etc");
            WriteFile(e, "/etc/motd", "hello\n"u8);
            Ok(e.Sync());
        }
        MinixTools.AssertClean(img);
        Assert.Equal(new SortedSet<string>(["/etc", "/etc/motd"], StringComparer.Ordinal), MinixTools.ListNames(img));
    }

    /// <summary>fsck.minix (util-linux 2.38) hard-codes 1 KiB blocks: it refuses nothing about a
    /// 4 KiB image's superblock but reads its bitmaps and inodes at 1 KiB offsets, so it cannot
    /// check one. The 4 KiB format is checked by the engine alone: format, fill, remount, compare.</summary>
    [Fact]
    public void Mkfs_FourKiB_RoundTripsThroughEngine()
    {
        var disk = NewDisk(32 << 20, blockSize: 4096);
        var e = Mount(disk);
        Assert.Equal(4096, e.BlockSize);
        var big = RandomBytes(11, 6 << 20); // 7 direct + 1024 single = 4124 KiB; the rest double indirect
        WriteFile(e, "/big", big);
        Mkdir(e, "/x");
        for (int i = 0; i < 200; i++) WriteFile(e, $"/x/n{i}", RandomBytes(i, i * 13)); // 200 entries: the directory spans 4 blocks
        Ok(e.Sync());

        var again = Mount(disk);
        Assert.Equal(Sha(big), Sha(ReadFile(again, "/big")));
        for (int i = 0; i < 200; i += 17) Assert.Equal(RandomBytes(i, i * 13), ReadFile(again, $"/x/n{i}"));
        Assert.Equal(202, List(again, "/x").Count);
        Ok(again.StatFs(out var fs));
        Assert.Equal(8192, fs.TotalBlocks);
        Assert.Equal(4096, fs.BlockSize);
    }

    [Theory]
    [InlineData(2048, 0, 64 << 10)]   // block size
    [InlineData(1024, 0, 4 << 10)]    // too small for metadata and root
    [InlineData(1024, 5_000_000, 1 << 20)] // inode table larger than the disk
    public void Mkfs_ImpossibleParameters_RefusedWithReason(int blockSize, long inodes, int size)
    {
        var d = new MemoryBlockDevice(size);
        Assert.Equal(MfsError.EINVAL, Mkfs.Format(d, new Mkfs.Options { BlockSize = blockSize, Inodes = inodes }, out string reason));
        Assert.NotEmpty(reason);
        Assert.All(d.Bytes, b => Assert.Equal(0, b));
    }

    [MinixFact]
    public void Fsck_DamagedImage_NotClean()
    {
        // The oracle must see damage, or its silence proves nothing: a zone marked in use that no file uses.
        using var tmp = new TempDir();
        string img = MinixTools.MakeImage(tmp, 2048);
        using (var dev = new FileBlockDevice(img))
        {
            var e = Mount(dev);
            uint ino = WriteFile(e, "/f", RandomBytes(1, 5000));
            Ok(e.Sync());
            var raw = new byte[1024];
            long zmap = Superblock.MapStart + e.Super.ImapBlocks;
            Assert.True(dev.ReadBlock(zmap, raw));
            raw[100] = 0xFF;
            Assert.True(dev.WriteBlock(zmap, raw));
        }
        var (code, output) = MinixTools.Fsck(img);
        Assert.NotEqual(0, code);
        Assert.Contains("marked in use, no file uses it", output);
    }
}
