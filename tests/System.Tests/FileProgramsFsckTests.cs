// After the file programs have written on the root file system (mkdir, cp, mv, dd, rm, sync) and
// the instance is shut down, the disk image passes Linux's fsck.minix -f, and -l lists exactly
// the first boot's names plus those the programs left.
namespace Bulkhead.System.Tests;

public sealed class FileProgramsFsckTests
{
    [FsckFact]
    public void ProgramsWrite_ThenShutdown_DiskImageIsFsckClean()
    {
        using var bh = new FileInstance();
        bh.Ok("mkdir", "-p", "/tmp/k/l/m");
        bh.Ok("cp", "/etc/motd", "/tmp/k/motd");
        bh.Ok("cp", "/etc/rc", "/tmp/k/l/rc");
        bh.Ok("mv", "/tmp/k/motd", "/tmp/k/l/m/motd");
        Assert.Equal(0, bh.RunBytes(new byte[3 << 20], "dd", "of=/tmp/k/big", "bs=1M").Status);
        Assert.Equal(0, bh.RunBytes(new byte[100_000], "dd", "of=/tmp/gone", "bs=4K").Status);
        bh.Ok("rm", "/tmp/gone");
        bh.Ok("sync");
        var before = Fsck.Names(CopyOf(bh.DiskImage, bh.Host.RunDir, "synced.img"));
        bh.Host.Ok("shutdown");

        Fsck.AssertClean(bh.DiskImage);
        var names = Fsck.Names(bh.DiskImage);
        string[] ours = ["/tmp/k", "/tmp/k/big", "/tmp/k/l", "/tmp/k/l/m", "/tmp/k/l/m/motd", "/tmp/k/l/rc"];
        Assert.Subset(names, new SortedSet<string>(ours, StringComparer.Ordinal));
        Assert.DoesNotContain("/tmp/gone", names);
        Assert.DoesNotContain("/tmp/k/motd", names);
        var firstBoot = names.Where(n => !n.StartsWith("/tmp/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["/dev", "/etc", "/etc/motd", "/etc/rc", "/tmp"], firstBoot.Where(n => !n.StartsWith("/dev/", StringComparison.Ordinal)));
        Assert.Equal(names.Count, firstBoot.Count + ours.Length);
        // sync alone put the same tree on the disk as the shutdown did.
        Assert.Equal(names, before);
    }

    private static string CopyOf(string image, string dir, string name)
    {
        string copy = Path.Combine(dir, name);
        File.Copy(image, copy, overwrite: true);
        return copy;
    }
}
