// The callback table a block device provides to the shared block-driver library (BlockDriver):
// probe and start, the geometry of its units, sector transfers between the medium and a staging
// buffer in the driver's own arena, flush, device-specific ioctls and interrupts.
// A unit is what a minor names: a partitioned device (a disk) has one unit, which the library
// presents as minor 0 (the whole disk) and minors 1..4 (its MBR partitions); an unpartitioned
// device (the memory driver) has one unit per minor.
// Rules: the library checks every request (minor, alignment, range, grants) before calling a
// device, so a device sees only sector-aligned transfers of at most BufferBytes that lie inside
// the unit; a device returns Err codes, never throws for a request.
namespace Bulkhead.Drivers.Block;

public interface IBlockDevice
{
    /// <summary>Probes and starts the device and registers its interrupt. Returns an Err code.</summary>
    int Init(BlockDriver driver);

    /// <summary>True: one unit, minor 0 the whole device and minors 1..4 its MBR partitions.</summary>
    bool Partitioned { get; }

    /// <summary>Units (minors) of an unpartitioned device; 1 for a partitioned one.</summary>
    int Units { get; }

    /// <summary>Size in bytes and sector size of <paramref name="unit"/>; ENXIO if there is no such unit.</summary>
    int Describe(int unit, out long bytes, out int sectorSize);

    /// <summary>Arena offset of the staging buffer transfers go through (DMA-able for a disk).</summary>
    long Buffer { get; }

    /// <summary>Its size: the most one Transfer moves; a multiple of every sector size.</summary>
    int BufferBytes { get; }

    /// <summary>Moves <paramref name="bytes"/> between the unit at byte <paramref name="position"/>
    /// and the start of the staging buffer. Returns the bytes moved (fewer at the end of an
    /// unbounded device such as /dev/null) or an Err code.</summary>
    int Transfer(int unit, bool write, long position, int bytes);

    /// <summary>Where [position, +bytes) of the unit lies in the driver's own arena (a RAM disk),
    /// so the library copies straight between it and the client; -1 when it does not.</summary>
    long Direct(int unit, long position, int bytes);

    /// <summary>Makes written data reach the medium. Returns an Err code.</summary>
    int Flush(int unit);

    /// <summary>A device-specific ioctl (not IoctlGeometry); ENOTTY if unknown.</summary>
    int Ioctl(int unit, int code, long argument);

    /// <summary>Called at every Open of the unit; returns BlockDriverCall.Flag* bits for the reply.</summary>
    int Opened(int unit);

    /// <summary>Services a HARDWARE notification that arrived while no command waited for it.</summary>
    void OnInterrupt(ulong hooks);
}
