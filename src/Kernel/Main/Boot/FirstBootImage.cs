// The root file system of a first boot (docs/mfs.md "The root image"): the image of the primary
// IDE channel's disk, when the boot has just created it (BootDevices.CreatedDisks), is formatted
// as a MINIX v3 file system with /etc (the repository's etc/rc and a motd), /dev and /tmp
// (RootImage.Build), before any process runs, so that the MFS started by etc/rc finds a file
// system on c0d0. A new disk on the secondary channel (a second disk, c1d0) is a data disk and
// stays blank, as a new drive is. An image that existed before the boot is never written here. A failure is logged and leaves the disk as it is (the system boots
// all the same; MFS will refuse to mount it and say why).
using System.Text;
using Bulkhead.Kernel.Boot;
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Storage;
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;

namespace Bulkhead.Kernel.Main.Boot;

internal static class FirstBootImage
{
    public const string Motd = "Welcome to Bulkhead, a dependable multiserver operating system (MINIX 3's design, in C#).\n";

    /// <summary>Formats every disk <paramref name="devices"/> created; says what it did in the log.</summary>
    public static void FormatCreated(BootDevices devices, string root, Action<string> log)
    {
        foreach (var (d, image) in devices.CreatedDisks)
        {
            if (d.Channel != AtaChannel.Primary)
            {
                log($"device {d.Name}: new image {image.Path}: blank (a data disk; the root file system goes on the primary channel's)");
                continue;
            }
            string? why = Format(image, root);
            log(why is null
                ? $"device {d.Name}: new image {image.Path} formatted: MINIX v3 file system with /etc, /dev, /tmp"
                : $"device {d.Name}: new image {image.Path} left unformatted: {why}");
        }
    }

    /// <summary>Writes the root file system on <paramref name="image"/>; null, or why not.</summary>
    public static string? Format(DiskImage image, string root)
    {
        var etc = new List<(string, byte[])> { ("motd", Encoding.UTF8.GetBytes(Motd)) };
        try { etc.Insert(0, ("rc", File.ReadAllBytes(Path.Combine(root, "etc", "rc")))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read etc/rc: {e.Message}";
        }
        var r = RootImage.Build(new ImageDevice(image), etc, (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds(), out string reason);
        return r == MfsError.None ? null : reason;
    }

    /// <summary>The MFS engine's view of a disk image (whole blocks inside the disk).</summary>
    private sealed class ImageDevice(DiskImage image) : IBlockDevice
    {
        public long Size => image.Sectors * DiskImage.SectorSize;

        public bool Read(long offset, Span<byte> buffer) => offset >= 0 && offset <= Size - buffer.Length && image.Read(offset, buffer);

        public bool Write(long offset, ReadOnlySpan<byte> data) => offset >= 0 && offset <= Size - data.Length && image.Write(offset, data);

        public bool Flush() => image.Flush();
    }
}
