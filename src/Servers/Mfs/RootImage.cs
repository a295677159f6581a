// The first-boot root file system (docs/mfs.md "The root image"): what the boot writes on a disk
// image it has just created, so that MFS finds a file system there. Build formats the whole
// device with Mkfs — 1 KiB blocks, no partition table, one inode per three blocks, what Linux
// `mkfs.minix -3` makes — and populates it through the engine: /etc with the files it is given
// (the repository's etc/rc, a motd), /dev with the device files of Devices, /tmp (mode 1777).
// Device numbers are MINIX's 16-bit dev_t, major << 8 | minor; a major stands for a block or
// character driver's label (MemoryMajor = `memory`, DiskMajor = `c0d0`, docs/mfs.md).
// Rules: it writes only a device it is handed (the caller decides that the device is new);
// any failure is answered with a reason and leaves the device to be formatted again.
using Bulkhead.Servers.Mfs.Device;

namespace Bulkhead.Servers.Mfs;

public static class RootImage
{
    /// <summary>Major 1: the memory driver (label `memory`): null 3, zero 5, ram0..ram7 7..14.</summary>
    public const int MemoryMajor = 1;
    /// <summary>Major 3: the first ATA disk (label `c0d0`): the whole disk 0, partitions 1..4.</summary>
    public const int DiskMajor = 3;
    /// <summary>Major 4: the filter driver (label `filter`): its virtual disk 0.</summary>
    public const int FilterMajor = 4;

    private const ushort CharDevice = 0x2000, BlockDevice = 0x6000;

    /// <summary>The device files of /dev: name, type and permission bits, major, minor.</summary>
    public static readonly IReadOnlyList<(string Name, ushort Mode, int Major, int Minor)> Devices = MakeDevices();

    private static List<(string, ushort, int, int)> MakeDevices()
    {
        var list = new List<(string, ushort, int, int)>
        {
            ("null", CharDevice | 0x1B6, MemoryMajor, 3),   // 0666
            ("zero", CharDevice | 0x1B6, MemoryMajor, 5),
        };
        for (int i = 0; i < 8; i++) list.Add(($"ram{i}", BlockDevice | 0x180, MemoryMajor, 7 + i)); // 0600
        list.Add(("c0d0", BlockDevice | 0x180, DiskMajor, 0));
        for (int p = 1; p <= 4; p++) list.Add(($"c0d0p{p}", BlockDevice | 0x180, DiskMajor, p));
        list.Add(("filter", BlockDevice | 0x180, FilterMajor, 0));
        return list;
    }

    /// <summary>MINIX's dev_t of a major and a minor.</summary>
    public static uint DeviceNumber(int major, int minor) => (uint)((major << 8) | minor);

    /// <summary>Formats <paramref name="device"/> and writes the root tree; <paramref name="etc"/>
    /// are the files of /etc (name, contents). None, or the error and a reason.</summary>
    public static MfsError Build(IBlockDevice device, IReadOnlyList<(string Name, byte[] Data)> etc, uint time, out string reason)
    {
        var e = Mkfs.Format(device, new Mkfs.Options { BlockSize = 1024, Time = time }, out reason);
        if (e != MfsError.None) return e;
        e = MfsEngine.TryMount(device, new MfsOptions { Clock = () => time }, out var fs, out reason);
        if (e != MfsError.None) return e;
        var root = MfsCred.Root;
        e = Step("mkdir /etc", fs!.Mkdir(MfsEngine.RootInode, "etc", 0x1ED, root, out uint etcDir), ref reason); // 0755
        if (e != MfsError.None) return e;
        foreach (var (name, data) in etc)
        {
            e = Step($"create /etc/{name}", fs.Create(etcDir, name, 0x81A4, root, out uint ino), ref reason); // 0644
            if (e != MfsError.None) return e;
            e = Step($"write /etc/{name}", fs.Write(ino, 0, data, out int n), ref reason);
            if (e != MfsError.None) return e;
            if (n != data.Length) return Step($"write /etc/{name}", MfsError.ENOSPC, ref reason);
        }
        e = Step("mkdir /dev", fs.Mkdir(MfsEngine.RootInode, "dev", 0x1ED, root, out uint devDir), ref reason);
        if (e != MfsError.None) return e;
        foreach (var (name, mode, major, minor) in Devices)
        {
            e = Step($"mknod /dev/{name}", fs.Create(devDir, name, mode, root, out _, DeviceNumber(major, minor)), ref reason);
            if (e != MfsError.None) return e;
        }
        e = Step("mkdir /tmp", fs.Mkdir(MfsEngine.RootInode, "tmp", 0x1FF, root, out uint tmp), ref reason);
        if (e == MfsError.None) e = Step("chmod 1777 /tmp", fs.Chmod(tmp, 0x3FF, root), ref reason);
        if (e == MfsError.None) e = Step("sync", fs.Sync(), ref reason);
        return e;
    }

    private static MfsError Step(string what, MfsError e, ref string reason)
    {
        if (e != MfsError.None) reason = $"{what}: {e}";
        return e;
    }
}
