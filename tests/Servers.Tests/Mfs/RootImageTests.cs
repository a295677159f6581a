// The first-boot root file system (src/Servers/Mfs/RootImage.cs, src/Kernel/Main/Boot/
// FirstBootImage.cs; docs/mfs.md "The root image"): on a disk image of boot.conf's size, and on
// the disk0.img a real first boot creates in its run directory, Linux `fsck.minix -f` finds
// nothing and `fsck.minix -l` lists exactly /etc (rc, motd), /dev (the device files of the
// major map) and /tmp; the engine reads back the modes, the device numbers and etc/rc byte for
// byte. A second boot on the same run directory leaves the image as it was (same SHA-256).
using System.Security.Cryptography;
using System.Text;
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Servers.Tests.Mfs;

public sealed class RootImageTests
{
    private static readonly string[] Names =
    [
        "/dev", "/dev/c0d0", "/dev/c0d0p1", "/dev/c0d0p2", "/dev/c0d0p3", "/dev/c0d0p4", "/dev/filter", "/dev/null",
        "/dev/ram0", "/dev/ram1", "/dev/ram2", "/dev/ram3", "/dev/ram4", "/dev/ram5", "/dev/ram6", "/dev/ram7", "/dev/zero",
        "/etc", "/etc/motd", "/etc/rc", "/tmp",
    ];

    private static byte[] RepoRc => File.ReadAllBytes(Path.Combine(TestSystem.RepoRoot(), "etc", "rc"));

    /// <summary>fsck-clean, exactly the names, and the engine's view of modes, devices and etc/rc.</summary>
    private static void Check(string image)
    {
        MinixTools.AssertClean(image);
        Assert.Equal(string.Join('\n', Names), string.Join('\n', MinixTools.ListNames(image)));
        using var dev = new FileBlockDevice(image, writable: false);
        Assert.Equal(MfsError.None, MfsEngine.TryMount(dev, new MfsOptions { ReadOnly = true }, out var fs, out string why));
        Assert.Equal(1024, fs!.BlockSize);
        MfsStat Stat(string path)
        {
            Assert.Equal(MfsError.None, fs.Resolve(path, MfsCred.Root, followLast: false, out uint ino));
            Assert.Equal(MfsError.None, fs.Stat(ino, out var st));
            return st;
        }
        Assert.Equal(0x43FF, Stat("/tmp").Mode);                                  // drwxrwxrwt
        Assert.Equal((0x21B6, 0x103u), (Stat("/dev/null").Mode, Stat("/dev/null").Rdev)); // crw-rw-rw- 1,3
        Assert.Equal((0x2000, 0x105u), (Stat("/dev/zero").Mode & 0xF000, Stat("/dev/zero").Rdev));
        Assert.Equal((0x6180, 0x10Eu), (Stat("/dev/ram7").Mode, Stat("/dev/ram7").Rdev)); // brw------- 1,14
        Assert.Equal((0x6180, 0x300u), (Stat("/dev/c0d0").Mode, Stat("/dev/c0d0").Rdev));
        Assert.Equal(0x304u, Stat("/dev/c0d0p4").Rdev);
        var rc = Stat("/etc/rc");
        Assert.Equal(MfsError.None, fs.Resolve("/etc/rc", MfsCred.Root, true, out uint rcIno));
        var buf = new byte[rc.Size];
        Assert.Equal(MfsError.None, fs.Read(rcIno, 0, buf, out int n));
        Assert.Equal(RepoRc, buf.AsSpan(0, n).ToArray());
        Assert.Contains("service up image:mfs -label mfs_root", Encoding.UTF8.GetString(buf), StringComparison.Ordinal);
    }

    [MinixFact]
    public void Build_OnABootConfSizedImage_FsckClean_WithEtcDevTmp()
    {
        using var tmp = new TempDir();
        string img = tmp.File("disk0.img");
        using (var f = File.Create(img)) f.SetLength(256L << 20);
        using (var dev = new FileBlockDevice(img))
            Assert.Equal(MfsError.None, RootImage.Build(dev, [("rc", RepoRc), ("motd", "hello\n"u8.ToArray())], 1_700_000_000, out _));
        Check(img);
    }

    [MinixFact]
    public void FreshBoot_FormatsTheDiskItCreates_AndASecondBootLeavesItAlone()
    {
        using var host = new HostInstance();
        string img = Path.Combine(host.RunDir, "disk0.img");
        host.Ok("boot", "--detach");
        Assert.Contains("formatted: MINIX v3 file system with /etc, /dev, /tmp", host.Ok("log"), StringComparison.Ordinal);
        host.Ok("shutdown");
        Check(img);
        string before = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(img)));

        host.Ok("boot", "--detach");
        Assert.DoesNotContain("formatted", host.Ok("log"), StringComparison.Ordinal);
        host.Ok("shutdown");
        Assert.Equal(before, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(img))));
    }
}
