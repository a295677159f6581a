// Damaged images, seeded (the seed is in each case's name): random bytes over the superblock,
// the inode table and a large file's indirect blocks of a populated file system. The engine
// must refuse the mount with a reason or answer every call — a walk of the whole tree reading
// every file, then creates, writes, renames and deletes — with a result, never an exception,
// never a device access outside the device, and never more cached blocks than allowed.
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;
using Bulkhead.Servers.Mfs.Disk;
using static Bulkhead.Servers.Tests.Mfs.MfsKit;

namespace Bulkhead.Servers.Tests.Mfs;

public class CorruptionTests
{
    private const int CacheBlocks = 24;

    /// <summary>A populated 1 KiB file system: a tree, small files, one through the double indirect zone, links.</summary>
    private static MemoryBlockDevice Populated(out uint largeIno)
    {
        var disk = NewDisk(8 << 20, inodes: 256);
        var e = Mount(disk);
        Mkdir(e, "/a");
        Mkdir(e, "/a/b");
        for (int i = 0; i < 30; i++) WriteFile(e, $"/a/f{i}", RandomBytes(i, i * 300));
        largeIno = WriteFile(e, "/a/b/large", RandomBytes(99, 1_200_000));
        Ok(e.Symlink(MfsEngine.RootInode, "s", "a/b/large", Root, out _));
        Ok(e.Link(Ino(e, "/a/b"), "hard", Ino(e, "/a/f3"), Root));
        Ok(e.Sync());
        return disk;
    }

    private static void Damage(byte[] image, long from, long length, Random rnd, int bytes)
    {
        for (int i = 0; i < bytes; i++) image[from + rnd.NextInt64(length)] = (byte)rnd.Next(256);
    }

    public static TheoryData<int> Seeds()
    {
        var d = new TheoryData<int>();
        for (int s = 1; s <= 40; s++) d.Add(s);
        return d;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void GarbageSuperblock_RefusedOrSurvived(int seed)
    {
        var disk = Populated(out _);
        var rnd = new Random(seed);
        Damage(disk.Bytes, Superblock.Offset, Superblock.Length, rnd, 1 + rnd.Next(6));
        Exercise(disk, seed);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void GarbageInodeTable_ErrorsNotExceptions(int seed)
    {
        var disk = Populated(out _);
        var sb = Superblock.Read(disk.Bytes.AsSpan(Superblock.Offset));
        var rnd = new Random(seed);
        long start = sb.InodeTableStart * sb.BlockSize;
        // Most seeds damage the first inodes (the tree), some the whole table.
        long span = seed % 4 == 0 ? sb.InodeTableBlocks * sb.BlockSize : 48 * DiskInode.Size;
        Damage(disk.Bytes, start, span, rnd, 4 + rnd.Next(60));
        Exercise(disk, seed);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void GarbageIndirectBlocks_ErrorsNotExceptions(int seed)
    {
        var disk = Populated(out uint large);
        var sb = Superblock.Read(disk.Bytes.AsSpan(Superblock.Offset));
        long at = sb.InodeTableStart * sb.BlockSize + (large - 1) * DiskInode.Size;
        var inode = DiskInode.Read(disk.Bytes.AsSpan((int)at));
        var rnd = new Random(seed);
        uint single = inode.Zones[DiskInode.SingleIndirect], dbl = inode.Zones[DiskInode.DoubleIndirect];
        Assert.NotEqual(0u, dbl);
        Damage(disk.Bytes, single * 1024L, 1024, rnd, 1 + rnd.Next(20));
        Damage(disk.Bytes, dbl * 1024L, 1024, rnd, 1 + rnd.Next(20));
        // Point one double-indirect entry at a random zone too: its contents become "pointers".
        uint firstChild = BitConverter.ToUInt32(disk.Bytes, (int)(dbl * 1024));
        if (firstChild != 0 && firstChild * 1024L < disk.Bytes.Length) Damage(disk.Bytes, firstChild * 1024L, 1024, rnd, 1 + rnd.Next(40));
        Exercise(disk, seed);
    }

    /// <summary>Mounts (a refusal must say why), walks everything, then changes things; every call must return.</summary>
    private static void Exercise(MemoryBlockDevice disk, int seed)
    {
        var r = MfsEngine.TryMount(disk, new MfsOptions { CacheBlocks = CacheBlocks }, out var e, out string reason);
        if (r != MfsError.None)
        {
            Assert.True(r is MfsError.EINVAL or MfsError.EIO, $"seed {seed}: {r}");
            Assert.False(string.IsNullOrEmpty(reason), $"seed {seed}: refused without a reason");
            return;
        }
        int visited = 0;
        Walk(e!, MfsEngine.RootInode, 0, ref visited);
        var rnd = new Random(seed);
        for (int i = 0; i < 60; i++)
        {
            string name = $"n{rnd.Next(8)}";
            uint dir = rnd.Next(3) == 0 ? MfsEngine.RootInode : (uint)rnd.Next(1, 40);
            switch (rnd.Next(7))
            {
                case 0: e!.Create(dir, name, 0x1A4, Root, out _); break;
                case 1: e!.Mkdir(dir, name, 0x1ED, Root, out _); break;
                case 2: e!.Unlink(dir, name, Root); break;
                case 3: e!.Rename(dir, name, MfsEngine.RootInode, $"m{rnd.Next(8)}", Root); break;
                case 4: e!.Write((uint)rnd.Next(1, 40), rnd.Next(2_000_000), RandomBytes(i, rnd.Next(5000)), out _); break;
                case 5: e!.Truncate((uint)rnd.Next(1, 40), rnd.Next(1_500_000)); break;
                default: e!.Rmdir(dir, name, Root); break;
            }
            Assert.InRange(e!.Cache.Count, 0, CacheBlocks);
        }
        e!.StatFs(out _);
        e.Sync();
        Assert.True(e.Cache.Stats.HighWater <= CacheBlocks);
    }

    private static void Walk(MfsEngine e, uint dir, int depth, ref int visited)
    {
        if (depth > 12 || ++visited > 400) return;
        var entries = new List<MfsDirEntry>();
        if (e.GetDents(dir, 0, 200, entries, out _) != MfsError.None) return;
        var buf = new byte[64 * 1024];
        foreach (var d in entries)
        {
            if (d.Name is "." or "..") continue;
            if (e.Lookup(dir, d.Name, Root, out uint ino) != MfsError.None) continue;
            if (e.Stat(ino, out var st) != MfsError.None) continue;
            if ((st.Mode & ModeBits.TypeMask) == ModeBits.Directory) Walk(e, ino, depth + 1, ref visited);
            else if ((st.Mode & ModeBits.TypeMask) == ModeBits.Symlink) e.ReadLink(ino, out _);
            else for (long at = 0; at < Math.Min(st.Size, 1_300_000); at += buf.Length) if (e.Read(ino, at, buf, out _) != MfsError.None) break;
        }
        e.Resolve("/s", Root, followLast: true, out _);
    }
}
