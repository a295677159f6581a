// VFS's wire numbers are append-only (programs and VFS are built separately): a golden list of
// every call's offset from Protocols.Vfs, the open flags (Linux's values), and the device-number
// accessors (MINIX: major in bits 8..15, minor in 0..7).
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Lib.Tests.Vfs;

public sealed class VfsCallTests
{
    [Fact]
    public void CallNumbers_AreTheGoldenOnes()
    {
        int[] calls =
        [
            VfsCall.Open, VfsCall.Close, VfsCall.Read, VfsCall.Write, VfsCall.Lseek, VfsCall.PRead, VfsCall.PWrite,
            VfsCall.Stat, VfsCall.LStat, VfsCall.FStat, VfsCall.GetDents, VfsCall.Mkdir, VfsCall.Rmdir, VfsCall.Unlink,
            VfsCall.Rename, VfsCall.Link, VfsCall.Symlink, VfsCall.ReadLink, VfsCall.Chdir, VfsCall.Fchdir, VfsCall.Chmod,
            VfsCall.Chown, VfsCall.Truncate, VfsCall.Ftruncate, VfsCall.Fsync, VfsCall.Dup, VfsCall.Dup2, VfsCall.Pipe,
            VfsCall.Mount, VfsCall.Umount, VfsCall.Sync, VfsCall.StatFs, VfsCall.Mknod,
        ];
        Assert.Equal(Enumerable.Range(1, 33), calls.Select(c => c - Bulkhead.Lib.Ipc.Protocols.Vfs));
    }

    [Fact]
    public void OpenFlags_AreLinuxValues()
    {
        Assert.Equal((0x0, 0x1, 0x2, 0x40, 0x80, 0x200, 0x400, 0x800, 0x10000, 0x20000),
            (VfsCall.O_RDONLY, VfsCall.O_WRONLY, VfsCall.O_RDWR, VfsCall.O_CREAT, VfsCall.O_EXCL, VfsCall.O_TRUNC,
             VfsCall.O_APPEND, VfsCall.O_NONBLOCK, VfsCall.O_DIRECTORY, VfsCall.O_NOFOLLOW));
    }

    [Theory]
    [InlineData(1, 3, 0x103u)]
    [InlineData(3, 0, 0x300u)]
    [InlineData(255, 255, 0xFFFFu)]
    public void DeviceNumbers_RoundTrip(int major, int minor, uint dev)
    {
        Assert.Equal(dev, VfsCall.MakeDev(major, minor));
        Assert.Equal((major, minor), (VfsCall.Major(dev), VfsCall.Minor(dev)));
    }
}
