// The `device` sections made real (src/Kernel/Boot/BootDevices.cs) for the ATA disk: the image
// created sparse in the run directory at first boot and reused at the next, the PIIX3 IDE
// function on the PCI bus with its bus-master block at BAR4 and IRQ 14 in its interrupt line,
// the legacy ports answering in the machine's port space (IDENTIFY through them), and an image
// that cannot be opened stopping the boot with the file, line and reason.
using Bulkhead.Kernel.Boot;
using Bulkhead.Machine.Pci;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Kernel.Tests.Boot;

public sealed class BootDevicesTests : IDisposable
{
    private readonly string _run = Directory.CreateTempSubdirectory("bulkhead-bootdevices-").FullName;

    public void Dispose() => Directory.Delete(_run, recursive: true);

    private const string Disk = "device disk0 { model ata; pci 00:04.0; io c100; image disk0.img; size 64M; };";

    [Fact]
    public void Start_AtaDisk_CreatesTheImage_PlugsTheIdeFunction_AndAnswersAtTheLegacyPorts()
    {
        for (int boot = 0; boot < 2; boot++)
        {
            using var devices = new BootDevices(_run);
            using var sys = new TestSystem(board: devices.Board);
            Assert.Null(devices.Start(sys.Kernel, BootConfig.Parse(Disk, "etc/test.conf")));
            Assert.Equal(64L << 20, new FileInfo(Path.Combine(_run, "disk0.img")).Length);
            var at = new PciAddress(0, 4, 0);
            Assert.Contains(at, devices.Board.Pci.Enumerate());
            var config = devices.Board.Pci.Find(at)!;
            Assert.Equal((0x8086, 0x7010, 0x010180u, 0xC101u, (byte)14),
                (config.VendorId, config.DeviceId, config.ClassCode, config.Read(0x20, 4), config.InterruptLine));

            var io = devices.Board.Io;
            Assert.Equal(0x50u, io.Read(0x1F7, 1));            // ready
            Assert.Equal(0x50u, io.Read(0x3F6, 1));
            void Sector5(uint command)
            {
                io.Write(0x1F2, 1, 1);
                io.Write(0x1F3, 1, 5);
                io.Write(0x1F4, 1, 0);
                io.Write(0x1F5, 1, 0);
                io.Write(0x1F6, 1, 0xE0);                      // LBA
                io.Write(0x1F7, 1, command);
            }
            if (boot == 0)
            {
                Sector5(0x30);                                 // WRITE SECTORS by PIO
                for (int i = 0; i < 256; i++) io.Write(0x1F0, 2, 0xA55A);
                Assert.Equal(0x50u, io.Read(0x1F7, 1));
            }
            else
            {
                io.Write(0x1F7, 1, 0xEC);                      // IDENTIFY: 131072 sectors
                var w = new uint[256];
                for (int i = 0; i < 256; i++) w[i] = io.Read(0x1F0, 2);
                Assert.Equal(131072u, w[60] | (w[61] << 16));
                Sector5(0x20);                                 // sector 5 survived the "reboot"
                Assert.Equal(0xA55Au, io.Read(0x1F0, 2));
            }
        }
    }

    [Fact]
    public void Start_TwoAtaDisks_EachChannelAtItsLegacyPorts_WithItsOwnFunctionAndImage()
    {
        const string both = Disk + "\ndevice disk1 { model ata; channel secondary; pci 00:05.0; io c110; irq 15; image disk1.img; size 1M; };";
        using var devices = new BootDevices(_run);
        using var sys = new TestSystem(board: devices.Board);
        Assert.Null(devices.Start(sys.Kernel, BootConfig.Parse(both, "etc/test.conf")));
        var (f0, f1) = (devices.Board.Pci.Find(new PciAddress(0, 4, 0))!, devices.Board.Pci.Find(new PciAddress(0, 5, 0))!);
        Assert.Equal((0xC101u, (byte)14, 0x8000u, 0u), (f0.Read(0x20, 4), f0.InterruptLine, f0.Read(0x40, 2), f0.Read(0x42, 2)));
        Assert.Equal((0xC111u, (byte)15, 0u, 0x8000u), (f1.Read(0x20, 4), f1.InterruptLine, f1.Read(0x40, 2), f1.Read(0x42, 2)));
        Assert.Equal(1L << 20, new FileInfo(Path.Combine(_run, "disk1.img")).Length);

        // IDENTIFY on each channel's ports answers that channel's disk.
        var io = devices.Board.Io;
        uint Sectors(int commandBlock)
        {
            io.Write(commandBlock + 6, 1, 0xE0);
            io.Write(commandBlock + 7, 1, 0xEC);
            var w = new uint[256];
            for (int i = 0; i < 256; i++) w[i] = io.Read(commandBlock, 2);
            return w[60] | (w[61] << 16);
        }
        Assert.Equal((131072u, 2048u), (Sectors(0x1F0), Sectors(0x170)));
        Assert.Equal(0x50u, io.Read(0x376, 1));
    }

    [Fact]
    public void Start_ImageThatCannotBeOpened_NamesFileLineAndReason()
    {
        using var devices = new BootDevices(_run);
        using var sys = new TestSystem(board: devices.Board);
        var conf = BootConfig.Parse("\n" + Disk.Replace("disk0.img", "no/such/dir/d.img", StringComparison.Ordinal), "etc/test.conf");
        var error = devices.Start(sys.Kernel, conf);
        Assert.NotNull(error);
        Assert.StartsWith($"etc/test.conf:2: device disk0: cannot open image '{Path.Combine(_run, "no/such/dir/d.img")}': ", error);
        Assert.Null(devices.Board.Io.Find(0x1F0, out _));
        Assert.Null(devices.Board.Pci.Find(new PciAddress(0, 4, 0)));
    }

    [Fact]
    public void Start_MissingImageWithoutSize_IsRefused()
    {
        using var devices = new BootDevices(_run);
        using var sys = new TestSystem(board: devices.Board);
        var error = devices.Start(sys.Kernel, BootConfig.Parse(Disk.Replace(" size 64M;", "", StringComparison.Ordinal), "etc/test.conf"));
        Assert.Contains("does not exist and no size was given", error);
        Assert.False(File.Exists(Path.Combine(_run, "disk0.img")));
    }
}
