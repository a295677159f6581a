// Major device numbers → block-driver labels (docs/vfs.md "Devices"; MINIX's dmap). Fixed for now:
// major 1 is the memory driver (/dev/null minor 3, /dev/zero minor 5, RAM disks 7-14), major 3
// the ATA disk c0d0 (minor 0 the whole disk, 1-4 its MBR partitions), major 4 the filter driver
// (minor 0 its virtual disk; docs/filter.md).
namespace Bulkhead.Servers.Vfs;

public static class DeviceMap
{
    public const int MemoryMajor = 1;
    public const int DiskMajor = 3;
    public const int FilterMajor = 4;

    public static string? Label(int major) => major switch
    {
        MemoryMajor => "memory",
        DiskMajor => "c0d0",
        FilterMajor => "filter",
        _ => null,
    };

    /// <summary>The memory driver's /dev/null minor: its reads end at once. VFS answers them
    /// itself, since the block protocol takes a short read inside a minor for a driver failure.</summary>
    public const int NullMinor = 3;

    public static bool IsNull(string label, int minor) => label == "memory" && minor == NullMinor;

    public static int Major(string label) => label switch
    {
        "memory" => MemoryMajor,
        "c0d0" => DiskMajor,
        "filter" => FilterMajor,
        _ => -1,
    };
}
