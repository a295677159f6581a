// A file system that fills up: writes end short and then with ENOSPC, new inodes with ENOSPC
// when the inode map is full, and afterwards the image is consistent (fsck.minix -f clean),
// every file that was written whole reads back exactly, and freeing space makes room again.
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;
using static Bulkhead.Servers.Tests.Mfs.MfsKit;

namespace Bulkhead.Servers.Tests.Mfs;

public class EnospcTests
{
    [MinixFact]
    public void FillDisk_ENOSPC_FsckCleanAndContentsKept()
    {
        using var tmp = new TempDir();
        string img = MinixTools.MakeImage(tmp, 2048);
        var whole = new Dictionary<string, string>();
        using (var dev = new FileBlockDevice(img))
        {
            var e = Mount(dev, new MfsOptions { CacheBlocks = 32 });
            Mkdir(e, "/fill");
            var rnd = new Random(42);
            MfsError last = MfsError.None;
            for (int i = 0; last == MfsError.None; i++)
            {
                var data = RandomBytes(1000 + i, rnd.Next(1, 300_000));
                last = TryWriteFile(e, $"/fill/f{i}", data, out _);
                if (last == MfsError.None) whole[$"/fill/f{i}"] = Sha(data);
            }
            Assert.Equal(MfsError.ENOSPC, last);
            Ok(e.StatFs(out var fs));
            Assert.Equal(0, fs.FreeBlocks);
            // Every call that needs a block now fails cleanly.
            Assert.Equal(MfsError.ENOSPC, e.Mkdir(MfsEngine.RootInode, "nodir", 0x1ED, Root, out _));
            Assert.Equal(MfsError.ENOSPC, e.Symlink(MfsEngine.RootInode, "nolink", "x", Root, out _));
            uint empty = WriteFile(e, "/empty", []); // no block needed: the root directory has room
            Assert.Equal(MfsError.ENOSPC, e.Write(empty, 0, "x"u8, out _));
            Ok(e.Sync());
        }
        MinixTools.AssertClean(img);

        using (var dev = new FileBlockDevice(img))
        {
            var e = Mount(dev);
            foreach (var (path, sha) in whole) Assert.True(Sha(ReadFile(e, path)) == sha, $"{path} differs");
            Ok(e.Unlink(Ino(e, "/fill"), whole.Keys.First()[6..], Root));
            WriteFile(e, "/after", RandomBytes(9, 2000));
            Ok(e.Sync());
        }
        MinixTools.AssertClean(img);
    }

    [MinixFact]
    public void FillInodes_ENOSPC_FsckClean()
    {
        using var tmp = new TempDir();
        string img = MinixTools.MakeImage(tmp, 1024, inodes: 32);
        using (var dev = new FileBlockDevice(img))
        {
            var e = Mount(dev);
            int made = 0;
            MfsError r;
            while ((r = e.Create(MfsEngine.RootInode, $"n{made}", 0x1A4, Root, out _)) == MfsError.None) made++;
            Assert.Equal(MfsError.ENOSPC, r);
            Assert.Equal((int)e.Super.Inodes - 1, made);
            Assert.Equal(MfsError.ENOSPC, e.Mkdir(MfsEngine.RootInode, "d", 0x1ED, Root, out _));
            Ok(e.Sync());
        }
        MinixTools.AssertClean(img);
    }
}
