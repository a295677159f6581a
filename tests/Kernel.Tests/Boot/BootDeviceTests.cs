// Tests of boot.conf's `device` section (src/Kernel/Boot/BootParser.Device.cs): the shipped
// eth0, eth1 and disk0, a full section with every key, the default MAC, the ATA disk's keys and
// fixed legacy ports, and every mistake reported as "<file>:<line>: <reason>".
using Bulkhead.Kernel.Boot;
using Bulkhead.Machine.Devices.Ata;

namespace Bulkhead.Kernel.Tests.Boot;

public sealed class BootDeviceTests
{
    private static string RepoFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(relative);
    }

    [Fact]
    public void Load_DefaultConfig_HasEth0Ne2000At300Irq9_Eth1Rtl8139OnThePciBus_AndDisk0()
    {
        var c = BootConfig.Load(RepoFile("etc/boot.conf"));
        Assert.Equal(["eth0", "eth1", "disk0"], c.Devices.Select(x => x.Name));
        var disk = c.Devices[2];
        Assert.Equal((DeviceModel.Ata, true, false, "00:04.0", 0xC100, 0x10, 14), (disk.Model, disk.IsPci, disk.IsNic, disk.PciText, disk.IoBase, disk.IoLength, disk.Irq));
        Assert.Equal(("disk0.img", 256L << 20, "image disk0.img", "-"), (disk.ImagePath, disk.ImageBytes, disk.BackendText, disk.MacText));
        var pci = c.Devices[1];
        Assert.Equal((DeviceModel.Rtl8139, true, "00:03.0", 0xC000, 0x100, 11), (pci.Model, pci.IsPci, pci.PciText, pci.IoBase, pci.IoLength, pci.Irq));
        var d = c.Devices[0];
        Assert.False(d.IsPci);
        Assert.Equal("eth0", d.Name);
        Assert.Equal(DeviceModel.Ne2000, d.Model);
        Assert.Equal(0x300, d.IoBase);
        Assert.Equal(0x20, d.IoLength);
        Assert.Equal(9, d.Irq);
        Assert.Equal(DeviceBackendKind.None, d.Backend);
        Assert.Equal(BootDevice.DefaultMac("eth0"), d.Mac);
    }

    [Fact]
    public void Parse_FullSections_ReadsEveryKey()
    {
        var c = BootConfig.Parse("""
            device eth0 {
                model ne2000;
                io 300;
                irq 9;
                mac 52:54:00:12:34:56;
                backend tap tap0;
            };
            device eth1 {
                model ne2000;
                io 0x320;
                irq 10;
                backend udp 5000 127.0.0.1:5001;
            };
            device eth2 { model ne2000; io 340; irq 11; };
            """);
        Assert.Equal(["eth0", "eth1", "eth2"], c.Devices.Select(d => d.Name));
        var (a, b, e) = (c.Devices[0], c.Devices[1], c.Devices[2]);
        Assert.Equal(1, a.Line);
        Assert.Equal(new byte[] { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, a.Mac);
        Assert.True(a.MacGiven);
        Assert.Equal("52:54:00:12:34:56", a.MacText);
        Assert.Equal((DeviceBackendKind.Tap, "tap0", 6, "tap tap0"), (a.Backend, a.BackendInterface, a.BackendLine, a.BackendText));
        Assert.Equal((0x320, 10), (b.IoBase, b.Irq));
        Assert.Equal((DeviceBackendKind.Udp, 5000, "127.0.0.1", 5001), (b.Backend, b.BackendLocalPort, b.BackendPeerHost, b.BackendPeerPort));
        Assert.Equal("udp 5000 127.0.0.1:5001", b.BackendText);
        Assert.Equal((0x340, 11, DeviceBackendKind.None, "none"), (e.IoBase, e.Irq, e.Backend, e.BackendText));
        Assert.False(e.MacGiven);
        Assert.Equal(BootDevice.DefaultMac("eth2"), e.Mac);
        Assert.NotEqual(BootDevice.DefaultMac("eth0"), BootDevice.DefaultMac("eth1"));
        Assert.Equal(0, e.Mac[0] & 1); // unicast
    }

    [Fact]
    public void Parse_PciModels_TakeTheirAddressOrTheNextFreeOne()
    {
        var c = BootConfig.Parse("""
            device a { model rtl8139; io c000; irq 11; };
            device b { model rtl8139; pci 00:04.0; io c100; irq 10; };
            device c { model rtl8139; io c200; irq 9; };
            device d { model rtl8139; pci 1:1f.7; io d000; irq 5; };
            """);
        Assert.Equal(["00:03.0", "00:04.0", "00:05.0", "01:1f.7"], c.Devices.Select(x => x.PciText));
        Assert.All(c.Devices, x => Assert.Equal(0x100, x.IoLength));
        Assert.Equal("rtl8139", c.Devices[0].ModelName);
    }

    [Fact]
    public void Parse_AtaDisk_ReadsImageAndSize_DefaultsIrq14_AndClaimsTheLegacyPorts()
    {
        var c = BootConfig.Parse("""
            device eth1 { model rtl8139; io c000; irq 11; };
            device disk0 {
                model ata;
                io c100;
                image /var/lib/bulkhead/disk0.img;
                size 2G;
            };
            """);
        var d = c.Devices[1];
        Assert.Equal((DeviceModel.Ata, "ata", "00:04.0", 0xC100, 14), (d.Model, d.ModelName, d.PciText, d.IoBase, d.Irq));
        Assert.Equal(("/var/lib/bulkhead/disk0.img", 2L << 30), (d.ImagePath, d.ImageBytes));
        Assert.Equal([(0xC100, 0x10), (0x1F0, 8), (0x3F6, 1)], d.IoRanges);
        Assert.Empty(d.Mac);

        Assert.Equal(AtaChannel.Primary, d.Channel);
        var e = BootConfig.Parse("device disk1 { model ata; channel secondary; pci 00:07.0; io d000; irq 15; image \"d 1.img\"; size 1048576; };").Devices[0];
        Assert.Equal(("00:07.0", 15, "d 1.img", 1L << 20), (e.PciText, e.Irq, e.ImagePath, e.ImageBytes));
        Assert.Equal(0, BootConfig.Parse("device d { model ata; io c100; image x.img; };").Devices[0].ImageBytes); // the file's size
    }

    [Fact]
    public void Parse_TwoAtaDisks_OnePerChannel_TheSecondaryAtItsPortsAndIrq15()
    {
        // The second disk exactly as docs/boot.md gives it, after the shipped disk0.
        var c = BootConfig.Parse("""
            device disk0 {
                model ata;
                pci 00:04.0;
                io c100;
                irq 14;
                image disk0.img;
                size 256M;
            };
            device disk1 {
                model ata;
                channel secondary;
                pci 00:05.0;
                io c110;
                irq 15;
                image disk1.img;
                size 64M;
            };
            """);
        var (d0, d1) = (c.Devices[0], c.Devices[1]);
        Assert.Equal((AtaChannel.Primary, "primary", 14), (d0.Channel, d0.ChannelName, d0.Irq));
        Assert.Equal((AtaChannel.Secondary, "secondary", 15), (d1.Channel, d1.ChannelName, d1.Irq));
        Assert.Equal(("00:05.0", 0xC110, "disk1.img", 64L << 20), (d1.PciText, d1.IoBase, d1.ImagePath, d1.ImageBytes));
        Assert.Equal([(0xC110, 0x10), (0x170, 8), (0x376, 1)], d1.IoRanges);

        // Without irq the secondary channel's is 15; the channel may come before the disk on the primary.
        var e = BootConfig.Parse("device b { model ata; channel secondary; io c200; image b.img; };\ndevice a { model ata; channel primary; io c100; image a.img; };");
        Assert.Equal((AtaChannel.Secondary, 15, "00:03.0"), (e.Devices[0].Channel, e.Devices[0].Irq, e.Devices[0].PciText));
        Assert.Equal((AtaChannel.Primary, 14, "00:04.0"), (e.Devices[1].Channel, e.Devices[1].Irq, e.Devices[1].PciText));
    }

    [Fact]
    public void Parse_NoDevices_IsEmpty() => Assert.Empty(BootConfig.Parse("process a { program image a; };").Devices);

    public static TheoryData<string, int, string> Errors => new()
    {
        { "device eth0 {\n  model rtl9999;\n  io 300;\n  irq 9;\n};", 2, "unknown device model 'rtl9999' (expected 'ne2000', 'rtl8139' or 'ata')" },
        { "device d {\n  model ata;\n  io c100;\n};", 1, "device 'd' has no image" },
        { "device d {\n  model ata;\n  io c108;\n  image d.img;\n};", 3, "io base 0xc108 of device 'd' must be a nonzero multiple of its BAR size 0x10" },
        { "device d {\n  model ata;\n  io c100;\n  image d.img;\n  size 1000;\n};", 5, "disk size '1000' must be a multiple of 512 bytes from 512 to 16T" },
        { "device d {\n  model ata;\n  io c100;\n  image d.img;\n  size 17T;\n};", 5, "disk size '17T' must be a multiple of 512 bytes from 512 to 16T" },
        { "device d {\n  model ata;\n  io c100;\n  image d.img;\n  size 1.5G;\n};", 5, "bad disk size '1.5G' (e.g. 256M, 1G, 1048576)" },
        { "device d {\n  model ata;\n  io c100;\n  image d.img;\n  mac 52:54:00:12:34:56;\n};", 5, "'mac' is not a key of device 'd' (ata: a disk)" },
        { "device e {\n  model ne2000;\n  io 300;\n  irq 9;\n  image d.img;\n};", 5, "'image' is not a key of device 'e' (ne2000: a network card)" },
        { "device a { model ata; io c100; image a.img; };\ndevice b {\n  model ata;\n  io c200;\n  image b.img;\n};", 2,
          "device 'b' is on the primary IDE channel, which device 'a' (line 1) already has; give one of them 'channel secondary'" },
        { "device a { model ata; channel secondary; io c100; image a.img; };\ndevice b {\n  model ata;\n  io c200;\n  channel secondary;\n  image b.img;\n};", 5,
          "device 'b' is on the secondary IDE channel, which device 'a' (line 1) already has; give one of them 'channel primary'" },
        { "device d {\n  model ata;\n  channel tertiary;\n  io c100;\n  image d.img;\n};", 3, "unknown IDE channel 'tertiary' (expected 'primary' or 'secondary')" },
        { "device d {\n  model ata;\n  channel;\n  io c100;\n  image d.img;\n};", 3, "'channel' takes one IDE channel (primary or secondary)" },
        { "device d {\n  model ata;\n  channel secondary;\n  io c100;\n  irq 14;\n  image d.img;\n};", 5,
          "irq 14 of device 'd' is not its secondary channel's IRQ 15 (compatibility mode wires it)" },
        { "device d {\n  model ata;\n  io c100;\n  irq 15;\n  image d.img;\n};", 4,
          "irq 15 of device 'd' is not its primary channel's IRQ 14 (compatibility mode wires it)" },
        { "device e {\n  model ne2000;\n  io 300;\n  irq 9;\n  channel primary;\n};", 5, "'channel' is not a key of device 'e' (ne2000: a network card)" },
        { "device e { model ne2000; io 170; irq 9; };\ndevice d {\n  model ata;\n  channel secondary;\n  io c100;\n  image d.img;\n};", 5,
          "io range 0x170..0x177 of device 'd' overlaps device 'e' (0x170..0x18f, line 1)" },
        { "device e { model ne2000; io 1e0; irq 9; };\ndevice d {\n  model ata;\n  io c100;\n  image d.img;\n};", 4,
          "io range 0x1f0..0x1f7 of device 'd' overlaps device 'e' (0x1e0..0x1ff, line 1)" },
        { "device eth0 {\n  model rtl8139;\n  io c080;\n  irq 9;\n};", 3, "io base 0xc080 of device 'eth0' must be a nonzero multiple of its BAR size 0x100" },
        { "device eth0 {\n  model rtl8139;\n  pci 00:20.0;\n  io c000;\n  irq 9;\n};", 3, "bad PCI address '00:20.0': device 0x20 is beyond 1f" },
        { "device eth0 {\n  model rtl8139;\n  pci 00:03;\n  io c000;\n  irq 9;\n};", 3, "bad PCI address '00:03' (expected BUS:DEV.FN, e.g. 00:03.0)" },
        { "device eth0 {\n  model ne2000;\n  pci 00:03.0;\n  io 300;\n  irq 9;\n};", 3, "device 'eth0' is an ISA device (ne2000); 'pci' is for PCI models (rtl8139, ata)" },
        { "device a { model rtl8139; pci 00:03.0; io c000; irq 9; };\ndevice b {\n  model rtl8139;\n  pci 00:03.0;\n  io c100;\n  irq 9;\n};", 4,
          "PCI address 00:03.0 of device 'b' is taken by device 'a' (line 1)" },
        { "device eth0 {\n  model ne2000;\n  io 3g0;\n  irq 9;\n};", 3, "bad hex number '3g0' for io" },
        { "device eth0 {\n  model ne2000;\n  io 10000;\n  irq 9;\n};", 3, "io must be 0x0..0xffff, not 0x10000" },
        { "device eth0 {\n  model ne2000;\n  io fff0;\n  irq 9;\n};", 3, "io range 0xfff0..0x1000f of device 'eth0' is beyond 0xffff" },
        { "device eth0 { model ne2000; io 300; irq 9; };\ndevice eth1 {\n  model ne2000;\n  io 310;\n  irq 10;\n};", 4,
          "io range 0x310..0x32f of device 'eth1' overlaps device 'eth0' (0x300..0x31f, line 1)" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq 16;\n};", 4, "irq must be 0..15, not 16" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq x;\n};", 4, "bad number 'x' for irq" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq 9;\n  mac 52:54:00:12:34;\n};", 5,
          "bad MAC address '52:54:00:12:34' (expected six hex bytes, e.g. 52:54:00:12:34:56)" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq 9;\n  mac 52:54:00:12:34:zz;\n};", 5,
          "bad MAC address '52:54:00:12:34:zz' (expected six hex bytes, e.g. 52:54:00:12:34:56)" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq 9;\n  mac 01:00:5e:00:00:01;\n};", 5,
          "bad MAC address '01:00:5e:00:00:01' (a multicast address; the first byte must be even)" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq 9;\n  backend vde sw0;\n};", 5, "unknown backend 'vde' (expected 'none', 'tap' or 'udp')" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq 9;\n  backend tap;\n};", 5, "'backend' takes 'tap IFNAME'" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq 9;\n  backend udp 5000 localhost;\n};", 5, "bad UDP peer 'localhost' (expected HOST:PORT)" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n  irq 9;\n  backend udp 70000 h:1;\n};", 5, "the local UDP port must be 0..65535, not 70000" },
        { "device eth0 { model ne2000; io 300; irq 9; };\ndevice eth0 { model ne2000; io 400; irq 10; };", 2, "duplicate device 'eth0' (first at line 1)" },
        { "device eth0 {\n  model ne2000;\n  irq 9;\n  irq 10;\n};", 4, "duplicate 'irq' in device 'eth0'" },
        { "device eth0 {\n  model ne2000;\n  dma 3;\n};", 3, "unknown key 'dma' in device 'eth0'" },
        { "device eth0 {\n  model ne2000;\n  irq 9;\n};", 1, "device 'eth0' has no io" },
        { "device eth0 {\n  io 300;\n  irq 9;\n};", 1, "device 'eth0' has no model" },
        { "device eth0 {\n  model ne2000;\n  io 300;\n};", 1, "device 'eth0' has no irq" },
        { "device eth0 {\n  model ne2000\n  io 300;\n  irq 9;\n};", 2, "missing ';' after 'model ne2000'" },
        { "device {\n};", 1, "expected a device name after 'device', found '{'" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Parse_Mistake_NamesFileLineAndReason(string text, int line, string reason)
    {
        var e = Assert.Throws<BootConfigException>(() => BootConfig.Parse(text, "etc/test.conf"));
        Assert.Equal($"etc/test.conf:{line}: {reason}", e.Message);
        Assert.Equal((line, reason, "etc/test.conf"), (e.Line, e.Reason, e.File));
    }
}
