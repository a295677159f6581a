// The POSIX results of each call on a RAM disk made by our mkfs: the errors a program must see
// (ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, ENAMETOOLONG, EFBIG, EINVAL, ELOOP, EMLINK,
// EACCES, EPERM, EROFS), link counts through mkdir/rmdir/rename, rename's replace and cycle
// rules, symlink following, getdents resumption, and an unlinked file that lives while held.
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Disk;
using static Bulkhead.Servers.Tests.Mfs.MfsKit;

namespace Bulkhead.Servers.Tests.Mfs;

public class OperationTests
{
    private static MfsEngine NewFs(MfsOptions? o = null) => Mount(NewDisk(4 << 20), o);
    private const uint R = MfsEngine.RootInode;

    [Fact]
    public void Create_Existing_EEXIST_AndNames_Checked()
    {
        var e = NewFs();
        Ok(e.Create(R, "f", 0x1A4, Root, out _));
        Assert.Equal(MfsError.EEXIST, e.Create(R, "f", 0x1A4, Root, out _));
        Assert.Equal(MfsError.EEXIST, e.Mkdir(R, "f", 0x1ED, Root, out _));
        Assert.Equal(MfsError.EEXIST, e.Create(R, "..", 0x1A4, Root, out _));
        Assert.Equal(MfsError.ENAMETOOLONG, e.Create(R, new string('x', 61), 0x1A4, Root, out _));
        Ok(e.Create(R, new string('y', 60), 0x1A4, Root, out _));
        Assert.Contains(List(e, "/"), d => d.Name == new string('y', 60));
        Assert.Equal(MfsError.EINVAL, e.Create(R, "a/b", 0x1A4, Root, out _));
        Assert.Equal(MfsError.ENOENT, e.Create(R, "", 0x1A4, Root, out _));
        Assert.Equal(MfsError.ENOTDIR, e.Create(Ino(e, "/f"), "g", 0x1A4, Root, out _));
        Assert.Equal(MfsError.EINVAL, e.Create(R, "d", ModeBits.Directory | 0x1ED, Root, out _));
    }

    [Fact]
    public void Lookup_Missing_ENOENT_ThroughFile_ENOTDIR()
    {
        var e = NewFs();
        WriteFile(e, "/f", "x"u8);
        Assert.Equal(MfsError.ENOENT, e.Resolve("/nope", Root, true, out _));
        Assert.Equal(MfsError.ENOTDIR, e.Resolve("/f/x", Root, true, out _));
        Assert.Equal(MfsError.ENAMETOOLONG, e.Resolve("/" + new string('z', 61), Root, true, out _));
        Ok(e.Resolve("/./f", Root, true, out uint a));
        Ok(e.Resolve("//f/", Root, true, out uint b));
        Assert.Equal(a, b);
        Ok(e.Resolve("/..", Root, true, out uint up));
        Assert.Equal(R, up);
    }

    [Fact]
    public void ReadWrite_Directory_EISDIR_BeyondMax_EFBIG()
    {
        var e = NewFs();
        Assert.Equal(MfsError.EISDIR, e.Write(R, 0, "x"u8, out _));
        Assert.Equal(MfsError.EISDIR, e.Read(R, 0, new byte[4], out _));
        uint f = WriteFile(e, "/f", "abc"u8);
        Assert.Equal(MfsError.EFBIG, e.Write(f, e.MaxFileSize, "x"u8, out _));
        Ok(e.Write(f, e.MaxFileSize - 2, "xyz"u8, out int n)); // a short write up to the limit
        Assert.Equal(2, n);
        Assert.Equal(MfsError.EFBIG, e.Truncate(f, e.MaxFileSize + 1));
        Assert.Equal(MfsError.EINVAL, e.Truncate(f, -1));
        Assert.Equal(MfsError.EINVAL, e.Write(f, -1, "x"u8, out _));
        Ok(e.Read(WriteFile(e, "/small", "abc"u8), 3, new byte[10], out n));
        Assert.Equal(0, n);
    }

    [Fact]
    public void MkdirRmdir_LinkCounts_AndEmptiness()
    {
        var e = NewFs();
        Mkdir(e, "/a");
        Mkdir(e, "/a/b");
        Ok(e.Stat(Ino(e, "/a"), out var st));
        Assert.Equal(3, st.Nlinks);
        Assert.Equal(MfsError.ENOTEMPTY, e.Rmdir(R, "a", Root));
        Assert.Equal(MfsError.EINVAL, e.Rmdir(Ino(e, "/a"), ".", Root));
        Assert.Equal(MfsError.ENOTEMPTY, e.Rmdir(Ino(e, "/a"), "..", Root));
        WriteFile(e, "/a/f", "x"u8);
        Assert.Equal(MfsError.ENOTDIR, e.Rmdir(Ino(e, "/a"), "f", Root));
        Assert.Equal(MfsError.EISDIR, e.Unlink(Ino(e, "/a"), "b", Root));
        Ok(e.Rmdir(Ino(e, "/a"), "b", Root));
        Ok(e.Unlink(Ino(e, "/a"), "f", Root));
        Ok(e.Stat(Ino(e, "/a"), out st));
        Assert.Equal(2, st.Nlinks);
        Ok(e.Rmdir(R, "a", Root));
        Ok(e.Stat(R, out st));
        Assert.Equal(2, st.Nlinks);
        Ok(e.StatFs(out var fs));
        Assert.Equal(fs.TotalInodes - 1, fs.FreeInodes);
    }

    [Fact]
    public void Link_CountsAndLimits()
    {
        var e = NewFs(new MfsOptions { LinkMax = 4 });
        uint f = WriteFile(e, "/f", "data"u8);
        Assert.Equal(MfsError.EPERM, e.Link(R, "dirlink", R, Root));
        for (int i = 0; i < 3; i++) Ok(e.Link(R, $"l{i}", f, Root));
        Assert.Equal(MfsError.EMLINK, e.Link(R, "l9", f, Root));
        Assert.Equal(MfsError.EEXIST, e.Link(R, "l0", f, Root));
        Ok(e.Unlink(R, "f", Root));
        Ok(e.Unlink(R, "l0", Root));
        Ok(e.Stat(f, out var st));
        Assert.Equal(2, st.Nlinks);
        Assert.Equal("data"u8.ToArray(), ReadFile(e, "/l2"));
        // mkdir counts against the parent's links too.
        Mkdir(e, "/d");
        Mkdir(e, "/d/1");
        Mkdir(e, "/d/2"); // /d now has 4 links, the limit
        Assert.Equal(MfsError.EMLINK, e.Mkdir(Ino(e, "/d"), "3", 0x1ED, Root, out _));
    }

    [Fact]
    public void Unlink_WhileRetained_DataLivesUntilRelease()
    {
        var e = NewFs();
        var data = RandomBytes(5, 40_000);
        uint f = WriteFile(e, "/f", data);
        Ok(e.StatFs(out var before));
        Ok(e.Retain(f));
        Ok(e.Unlink(R, "f", Root));
        var back = new byte[data.Length];
        Ok(e.Read(f, 0, back, out int n));
        Assert.Equal(data, back);
        Ok(e.Release(f));
        Assert.Equal(MfsError.ENOENT, e.Stat(f, out _));
        Ok(e.StatFs(out var after));
        Assert.True(after.FreeBlocks > before.FreeBlocks && after.FreeInodes == before.FreeInodes + 1);
        Assert.Equal(MfsError.EINVAL, e.Release(f));
    }

    [Fact]
    public void Rename_ReplaceRulesAndCycles()
    {
        var e = NewFs();
        Mkdir(e, "/a");
        Mkdir(e, "/a/b");
        Mkdir(e, "/e");
        WriteFile(e, "/f", "1"u8);
        WriteFile(e, "/g", "2"u8);
        Mkdir(e, "/full");
        WriteFile(e, "/full/x", "x"u8);
        Assert.Equal(MfsError.EINVAL, e.Rename(R, "a", Ino(e, "/a/b"), "a", Root)); // into its own subtree
        Assert.Equal(MfsError.EINVAL, e.Rename(R, "a", Ino(e, "/a"), "self", Root));
        Assert.Equal(MfsError.ENOTDIR, e.Rename(R, "a", R, "f", Root));
        Assert.Equal(MfsError.EISDIR, e.Rename(R, "f", R, "a", Root));
        Assert.Equal(MfsError.ENOTEMPTY, e.Rename(R, "e", R, "full", Root));
        Assert.Equal(MfsError.ENOENT, e.Rename(R, "none", R, "x", Root));
        Assert.Equal(MfsError.EINVAL, e.Rename(R, "..", R, "x", Root));

        Ok(e.Rename(R, "f", R, "g", Root)); // replaces g; g's inode freed
        Assert.Equal("1"u8.ToArray(), ReadFile(e, "/g"));
        Assert.Equal(MfsError.ENOENT, e.Resolve("/f", Root, false, out _));
        Ok(e.Rename(R, "g", R, "g", Root)); // same file: nothing

        Ok(e.Rename(Ino(e, "/a"), "b", Ino(e, "/e"), "b2", Root)); // a directory moves: ".." follows, counts move
        Assert.Equal(Ino(e, "/e"), Ino(e, "/e/b2/.."));
        Ok(e.Stat(Ino(e, "/a"), out var a));
        Ok(e.Stat(Ino(e, "/e"), out var ee));
        Assert.Equal(2, a.Nlinks);
        Assert.Equal(3, ee.Nlinks);
        Ok(e.Rename(R, "a", Ino(e, "/e"), "b2", Root)); // replaces an empty directory
        Ok(e.Stat(Ino(e, "/e"), out ee));
        Assert.Equal(3, ee.Nlinks);
        Ok(e.Stat(R, out var root));
        Assert.Equal(4, root.Nlinks); // e, full and the root's own two
        Ok(e.StatFs(out var fs));
        Assert.Equal(fs.TotalInodes - 6, fs.FreeInodes); // root, e, e/b2 (once /a), full, full/x, g
    }

    [Fact]
    public void Symlinks_FollowedAndBounded()
    {
        var e = NewFs();
        Mkdir(e, "/d");
        WriteFile(e, "/d/f", "target"u8);
        Ok(e.Symlink(R, "abs", "/d/f", Root, out _));
        Ok(e.Symlink(Ino(e, "/d"), "rel", "f", Root, out _));
        Ok(e.Symlink(R, "dl", "d", Root, out _));
        Assert.Equal("target"u8.ToArray(), ReadFile(e, "/abs"));
        Assert.Equal("target"u8.ToArray(), ReadFile(e, "/d/rel"));
        Assert.Equal("target"u8.ToArray(), ReadFile(e, "/dl/rel"));
        Ok(e.Resolve("/abs", Root, followLast: false, out uint link));
        Ok(e.Stat(link, out var st));
        Assert.Equal(ModeBits.Symlink, st.Mode & ModeBits.TypeMask);
        Assert.Equal(4, st.Size);
        Ok(e.Symlink(R, "loop1", "loop2", Root, out _));
        Ok(e.Symlink(R, "loop2", "loop1", Root, out _));
        Assert.Equal(MfsError.ELOOP, e.Resolve("/loop1", Root, true, out _));
        Assert.Equal(MfsError.ENOENT, e.Symlink(R, "empty", "", Root, out _));
        Assert.Equal(MfsError.ENAMETOOLONG, e.Symlink(R, "long", new string('p', 1024), Root, out _));
        Ok(e.Symlink(R, "longest", new string('p', 1023), Root, out uint longest));
        Ok(e.ReadLink(longest, out string t));
        Assert.Equal(1023, t.Length);
        Assert.Equal(MfsError.EINVAL, e.ReadLink(R, out _));
        Ok(e.Unlink(R, "abs", Root)); // removes the link, not its target
        Assert.Equal("target"u8.ToArray(), ReadFile(e, "/d/f"));
    }

    [Fact]
    public void Permissions_ModeBitsAgainstCaller()
    {
        var e = NewFs();
        var alice = new MfsCred(1000, 100);
        var bob = new MfsCred(1001, 200);
        uint home = Mkdir(e, "/home", 0x1ED); // 0755 root
        Assert.Equal(MfsError.EACCES, e.Create(home, "x", 0x1A4, alice, out _));
        Ok(e.Chown(home, 1000, 100, Root));
        Ok(e.Create(home, "x", 0x1A4, alice, out uint x));
        Ok(e.Stat(x, out var st));
        Assert.Equal((1000, 100), (st.Uid, st.Gid));
        Assert.Equal(MfsError.EACCES, e.Create(home, "y", 0x1A4, bob, out _));
        Assert.Equal(MfsError.EPERM, e.Chmod(x, 0x1FF, bob));
        Assert.Equal(MfsError.EPERM, e.Chown(x, 1001, 200, alice));
        Ok(e.Chmod(home, 0x1C0, alice)); // 0700: bob may not search
        Assert.Equal(MfsError.EACCES, e.Resolve("/home/x", bob, true, out _));
        Ok(e.Resolve("/home/x", alice, true, out _));
        Assert.True(MfsAccess.Allowed(0x1A4, 5, 5, new MfsCred(6, 5), ModeBits.Read));
        Assert.False(MfsAccess.Allowed(0x1A4, 5, 5, new MfsCred(6, 5), ModeBits.Write));
        Assert.False(MfsAccess.Allowed(ModeBits.Regular | 0x1A4, 5, 5, Root, ModeBits.Execute));
        Ok(e.Utime(x, 10, 20, alice));
        Ok(e.Stat(x, out st));
        Assert.Equal((10u, 20u), (st.Atime, st.Mtime));
    }

    [Fact]
    public void GetDents_ResumesAcrossCallsAndSkipsFreeSlots()
    {
        var e = NewFs();
        for (int i = 0; i < 50; i++) WriteFile(e, $"/n{i}", []);
        for (int i = 0; i < 50; i += 3) Ok(e.Unlink(R, $"n{i}", Root));
        var names = List(e, "/").Select(d => d.Name).ToList();
        Assert.Equal(2 + 50 - 17, names.Count);
        Assert.Equal([".", ".."], names.Take(2));
        Assert.Equal(names.Count, names.Distinct().Count());
        WriteFile(e, "/reuse", []); // takes the first free slot: the directory does not grow
        Ok(e.Stat(R, out var st));
        Assert.Equal(52 * 64, st.Size);
        Assert.Equal(MfsError.ENOTDIR, e.GetDents(Ino(e, "/n1"), 0, 10, [], out _));
        Assert.Equal(MfsError.EINVAL, e.GetDents(R, 3, 10, [], out _));
    }

    [Fact]
    public void ReadOnlyMount_RefusesEveryChange_EROFS()
    {
        var disk = NewDisk(1 << 20);
        var w = Mount(disk);
        uint f = WriteFile(w, "/f", "x"u8);
        Ok(w.Sync());
        var before = (byte[])disk.Bytes.Clone();
        var e = Mount(disk, new MfsOptions { ReadOnly = true });
        Assert.Equal(MfsError.EROFS, e.Create(R, "g", 0x1A4, Root, out _));
        Assert.Equal(MfsError.EROFS, e.Mkdir(R, "g", 0x1ED, Root, out _));
        Assert.Equal(MfsError.EROFS, e.Write(f, 0, "y"u8, out _));
        Assert.Equal(MfsError.EROFS, e.Truncate(f, 0));
        Assert.Equal(MfsError.EROFS, e.Unlink(R, "f", Root));
        Assert.Equal(MfsError.EROFS, e.Rename(R, "f", R, "g", Root));
        Assert.Equal(MfsError.EROFS, e.Chmod(f, 0, Root));
        Assert.Equal(MfsError.EROFS, e.Symlink(R, "s", "f", Root, out _));
        Assert.Equal("x"u8.ToArray(), ReadFile(e, "/f"));
        Ok(e.Sync());
        Assert.Equal(before, disk.Bytes);
    }
}
