// The engine against images Linux made: `mkfs.minix -3` formats, the engine mounts and builds a
// tree (small files, a file through the double-indirect zone, a sparse file through the triple
// indirect zone, hard links, symbolic links, renames across directories, deletions), syncs,
// and `fsck.minix -f` must find nothing; `fsck.minix -l` must list exactly the names written;
// a second mount reads back every file byte for byte (SHA-256).
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;
using static Bulkhead.Servers.Tests.Mfs.MfsKit;

namespace Bulkhead.Servers.Tests.Mfs;

public class LinuxImageTests
{
    [MinixFact]
    public void LinuxImage_EmptyMount_FsckClean()
    {
        using var tmp = new TempDir();
        string img = MinixTools.MakeImage(tmp, 4096);
        using (var dev = new FileBlockDevice(img))
        {
            var e = Mount(dev);
            Assert.Equal(1024, e.BlockSize);
            Ok(e.StatFs(out var fs));
            Assert.Equal(4096, fs.TotalBlocks);
            Assert.Equal(e.Super.Inodes - 1, fs.FreeInodes);
            Assert.Equal(2, List(e, "/").Count);
            Ok(e.Sync());
        }
        MinixTools.AssertClean(img);
    }

    [MinixFact]
    public void LinuxImage_TreeOfFilesLinksRenames_FsckCleanAndContentsExact()
    {
        using var tmp = new TempDir();
        string img = MinixTools.MakeImage(tmp, 16384);
        var expected = new Dictionary<string, string>();
        byte[] small = RandomBytes(1, 100), medium = RandomBytes(2, 200 * 1024), large = RandomBytes(3, 3 * 1024 * 1024 + 123);
        using (var dev = new FileBlockDevice(img))
        {
            var e = Mount(dev, new MfsOptions { CacheBlocks = 64 });
            Mkdir(e, "/a");
            Mkdir(e, "/a/b");
            Mkdir(e, "/a/b/c");
            Mkdir(e, "/d");
            WriteFile(e, "/a/small", small);
            WriteFile(e, "/a/b/medium", medium);
            WriteFile(e, "/a/b/c/large", large);
            for (int i = 0; i < 40; i++) WriteFile(e, $"/d/f{i:D2}", RandomBytes(100 + i, i * 37));

            // A sparse file: one byte at 1 GiB (triple indirect) and one at 5000 (direct).
            uint sparse = WriteFile(e, "/sparse", []);
            Ok(e.Write(sparse, 1L << 30, new byte[] { 0x5A }, out _));
            Ok(e.Write(sparse, 5000, new byte[] { 0xA5 }, out _));

            // Hard links, a symbolic link, renames across directories, deletions.
            Ok(e.Link(Ino(e, "/d"), "small-link", Ino(e, "/a/small"), Root));
            Ok(e.Symlink(Ino(e, "/"), "s", "a/b", Root, out _));
            Assert.Equal(medium, ReadFile(e, "/s/medium"));
            Ok(e.Rename(Ino(e, "/a/b"), "c", Ino(e, "/"), "c2", Root));
            Ok(e.Rename(Ino(e, "/d"), "f00", Ino(e, "/c2"), "moved", Root));
            for (int i = 1; i < 40; i += 2) Ok(e.Unlink(Ino(e, "/d"), $"f{i:D2}", Root));
            Mkdir(e, "/gone");
            Ok(e.Rmdir(Ino(e, "/"), "gone", Root));
            Ok(e.Sync());

            expected["/a/small"] = Sha(small);
            expected["/d/small-link"] = Sha(small);
            expected["/a/b/medium"] = Sha(medium);
            expected["/c2/large"] = Sha(large);
            expected["/c2/moved"] = Sha(RandomBytes(100, 0));
            for (int i = 2; i < 40; i += 2) expected[$"/d/f{i:D2}"] = Sha(RandomBytes(100 + i, i * 37));
            Assert.Equal(2, Stat(e, "/a/small").Nlinks);
            Assert.Equal(3, Stat(e, "/a").Nlinks);      // ".", "/a" and b's ".."
            Assert.Equal(5, Stat(e, "/").Nlinks);      // a, d, c2 and the root's own two
            Assert.Equal(Ino(e, "/"), Ino(e, "/c2/.."));
        }
        MinixTools.AssertClean(img);
        var names = MinixTools.ListNames(img);
        var want = new SortedSet<string>(expected.Keys, StringComparer.Ordinal) { "/a", "/a/b", "/d", "/c2", "/s", "/sparse" };
        Assert.Equal(want, names);

        using var dev2 = new FileBlockDevice(img, writable: false);
        var e2 = Mount(dev2, new MfsOptions { ReadOnly = true });
        foreach (var (path, sha) in expected) Assert.True(Sha(ReadFile(e2, path)) == sha, $"{path} differs");
        var sp = new byte[16];
        Ok(e2.Read(Ino(e2, "/sparse"), 4996, sp, out int n));
        Assert.Equal(16, n);
        Assert.Equal(0xA5, sp[4]);
        Assert.Equal(15, sp.Count(b => b == 0));
        Ok(e2.Read(Ino(e2, "/sparse"), (1L << 30) - 3, sp, out n));
        Assert.Equal(4, n);
        Assert.Equal(new byte[] { 0, 0, 0, 0x5A }, sp[..4]);
        Ok(e2.ReadLink(Ino(e2, "/s"), out string target));
        Assert.Equal("a/b", target);
        Assert.Equal(MfsError.EROFS, e2.Unlink(Ino(e2, "/a"), "small", Root));
    }

    [MinixFact]
    public void LinuxImage_TruncateFreesZones_FsckClean()
    {
        using var tmp = new TempDir();
        string img = MinixTools.MakeImage(tmp, 8192);
        using (var dev = new FileBlockDevice(img))
        {
            var e = Mount(dev);
            Ok(e.StatFs(out var before));
            var data = RandomBytes(7, 2 * 1024 * 1024);
            uint ino = WriteFile(e, "/big", data);
            foreach (long size in new long[] { 1_500_000, 300_000, 264 * 1024 + 5, 7 * 1024, 6000, 0 })
            {
                Ok(e.Truncate(ino, size));
                Assert.Equal(Sha(data.AsSpan(0, (int)size)), Sha(ReadFile(e, "/big")));
            }
            Ok(e.StatFs(out var after));
            Assert.Equal(before.FreeBlocks, after.FreeBlocks);
            Ok(e.Truncate(ino, 100_000)); // grows as a hole
            Assert.Equal(new byte[100_000], ReadFile(e, "/big"));
            Ok(e.Sync());
        }
        MinixTools.AssertClean(img);
    }

    private static MfsStat Stat(MfsEngine e, string path)
    {
        Ok(e.Stat(Ino(e, path), out var st));
        return st;
    }
}
