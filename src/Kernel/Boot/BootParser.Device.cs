// The `device NAME` section of boot.conf: model, pci, io, irq, mac, backend, image, size,
// channel. Every key may appear once; model and io are required, and irq except for the ATA
// disk, whose IRQ is its channel's (14 primary, 15 secondary: compatibility mode wires them) and
// may only be written as that; `pci BUS:DEV.FN` (hex bus and device, as lspci prints them) only
// for a PCI model, which gets 00:DEV.0 with DEV = 3, 4, ... in order when it is omitted; mac and
// backend only for the NICs, image (required), size and channel (primary or secondary, default
// primary) only for the disk, one disk per channel. I/O ranges of different devices — the
// disk's fixed legacy ports included — must not overlap and PCI addresses must differ (checked
// here, as each device is read, against the earlier ones); a PCI model's io base must be
// aligned to its BAR size.
using System.Globalization;

using Bulkhead.Lib.Config;
using Bulkhead.Machine.Devices.Ata;

namespace Bulkhead.Kernel.Boot;

internal sealed partial class BootParser
{
    private static readonly HashSet<string> DeviceKeys = ["model", "pci", "io", "irq", "mac", "backend", "image", "size", "channel"];
    private static readonly string[] NicKeys = ["mac", "backend"], DiskKeys = ["image", "size", "channel"];

    private BootDevice ParseDevice(ConfigToken keyword, List<BootDevice> devices)
    {
        var name = Next();
        if (!name.Is(ConfigTokenKind.Word)) throw Error(name.Line, $"expected a device name after 'device', found {name.Shown}");
        string n = name.Text;
        if (n.Length is 0 or > 15 || !n.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw Error(name.Line, $"bad device name '{n}' (1..15 letters, digits, '_', '-', '.')");
        if (devices.FirstOrDefault(d => d.Name == n) is { } first)
            throw Error(name.Line, $"duplicate device '{n}' (first at line {first.Line})");
        var dev = new BootDevice { Name = n, Line = keyword.Line, BackendLine = keyword.Line };
        var seen = new Dictionary<string, int>();
        string what = $"device '{n}'";
        ParseSection(keyword, what, DeviceKeys, stmt => DeviceStatement(dev, what, seen, stmt));
        if (!seen.ContainsKey("model")) throw Error(keyword.Line, $"{what} has no model");
        if (!seen.TryGetValue("io", out int ioLine)) throw Error(keyword.Line, $"{what} has no io");
        foreach (string key in dev.IsNic ? DiskKeys : NicKeys)
            if (seen.TryGetValue(key, out int keyLine))
                throw Error(keyLine, $"'{key}' is not a key of {what} ({dev.ModelName}: {(dev.IsNic ? "a network card" : "a disk")})");
        if (dev.IsNic && !seen.ContainsKey("irq")) throw Error(keyword.Line, $"{what} has no irq");
        if (!dev.IsNic && !seen.ContainsKey("image")) throw Error(keyword.Line, $"{what} has no image");
        if (!dev.IsNic)
        {
            int channelIrq = AtaRegisters.IrqOf(dev.Channel);
            if (!seen.TryGetValue("irq", out int irqLine)) dev.Irq = channelIrq;
            else if (dev.Irq != channelIrq)
                throw Error(irqLine, $"irq {dev.Irq} of {what} is not its {dev.ChannelName} channel's IRQ {channelIrq} (compatibility mode wires it)");
            if (devices.FirstOrDefault(o => !o.IsNic && o.Channel == dev.Channel) is { } same)
                throw Error(seen.GetValueOrDefault("channel", keyword.Line),
                    $"{what} is on the {dev.ChannelName} IDE channel, which device '{same.Name}' (line {same.Line}) already has; " +
                    $"give one of them 'channel {(dev.Channel == AtaChannel.Primary ? "secondary" : "primary")}'");
        }
        if (dev.IoBase + dev.IoLength > 0x10000)
            throw Error(ioLine, $"io range 0x{dev.IoBase:x}..0x{dev.IoBase + dev.IoLength - 1:x} of {what} is beyond 0xffff");
        foreach (var other in devices)
            foreach (var (b, len) in dev.IoRanges)
                foreach (var (ob, on) in other.IoRanges)
                    if (b < ob + on && ob < b + len)
                        throw Error(ioLine, $"io range 0x{b:x}..0x{b + len - 1:x} of {what} overlaps device '{other.Name}' " +
                                            $"(0x{ob:x}..0x{ob + on - 1:x}, line {other.Line})");
        if (dev.IsPci)
        {
            if ((dev.IoBase & (dev.IoLength - 1)) != 0 || dev.IoBase == 0)
                throw Error(ioLine, $"io base 0x{dev.IoBase:x} of {what} must be a nonzero multiple of its BAR size 0x{dev.IoLength:x}");
            if (dev.PciBus < 0)
            {
                int slot = 3;
                while (devices.Any(o => o.IsPci && o.PciBus == 0 && o.PciDevice == slot)) slot++;
                if (slot > 31) throw Error(keyword.Line, $"{what}: no free PCI device number on bus 0; give 'pci BUS:DEV.FN'");
                (dev.PciBus, dev.PciDevice, dev.PciFunction) = (0, slot, 0);
            }
            foreach (var other in devices)
                if (other.IsPci && other.PciBus == dev.PciBus && other.PciDevice == dev.PciDevice && other.PciFunction == dev.PciFunction)
                    throw Error(seen.GetValueOrDefault("pci", keyword.Line), $"PCI address {dev.PciText} of {what} is taken by device '{other.Name}' (line {other.Line})");
        }
        else if (seen.TryGetValue("pci", out int pciLine))
        {
            throw Error(pciLine, $"{what} is an ISA device ({dev.ModelName}); 'pci' is for PCI models (rtl8139, ata)");
        }
        if (dev.IsNic && !dev.MacGiven) dev.Mac = BootDevice.DefaultMac(n);
        return dev;
    }

    private void DeviceStatement(BootDevice d, string what, Dictionary<string, int> seen, List<ConfigToken> stmt)
    {
        var key = stmt[0];
        if (!DeviceKeys.Contains(key.Text)) throw Error(key.Line, $"unknown key '{key.Text}' in {what}");
        if (!seen.TryAdd(key.Text, key.Line)) throw Error(key.Line, $"duplicate '{key.Text}' in {what}");
        switch (key.Text)
        {
            case "model":
                Arity(stmt, 1, "one model name (ne2000, rtl8139 or ata)");
                d.Model = stmt[1].Text switch
                {
                    "ne2000" => DeviceModel.Ne2000,
                    "rtl8139" => DeviceModel.Rtl8139,
                    "ata" => DeviceModel.Ata,
                    _ => throw Error(stmt[1].Line, $"unknown device model {stmt[1].Shown} (expected 'ne2000', 'rtl8139' or 'ata')"),
                };
                break;
            case "pci":
                Arity(stmt, 1, "a PCI address BUS:DEV.FN (hex bus and device, e.g. 00:03.0)");
                PciAddress(d, stmt[1]);
                break;
            case "io":
                Arity(stmt, 1, "one hexadecimal I/O port base (e.g. 300)");
                d.IoBase = Hex(stmt[1], "io", 0, 0xFFFF);
                break;
            case "irq":
                Arity(stmt, 1, $"one IRQ line (0..{BootDevice.MaxIrq})");
                d.Irq = Number(stmt[1], "irq", 0, BootDevice.MaxIrq);
                break;
            case "mac":
                Arity(stmt, 1, "a MAC address (xx:xx:xx:xx:xx:xx)");
                d.Mac = Mac(stmt[1]);
                d.MacGiven = true;
                break;
            case "backend":
                Backend(d, stmt);
                break;
            case "image":
                Arity(stmt, 1, "one image file (absolute, or relative to the run directory)");
                if (stmt[1].Text.Length == 0 || stmt[1].Text.Contains('\0'))
                    throw Error(stmt[1].Line, $"bad image file {stmt[1].Shown}");
                d.ImagePath = stmt[1].Text;
                break;
            case "size":
                Arity(stmt, 1, "one disk size in bytes, with K, M, G or T for KiB, MiB, GiB, TiB (e.g. 256M)");
                d.ImageBytes = DiskSize(stmt[1]);
                break;
            case "channel":
                Arity(stmt, 1, "one IDE channel (primary or secondary)");
                d.Channel = stmt[1].Text switch
                {
                    "primary" when stmt[1].Is(ConfigTokenKind.Word) => AtaChannel.Primary,
                    "secondary" when stmt[1].Is(ConfigTokenKind.Word) => AtaChannel.Secondary,
                    _ => throw Error(stmt[1].Line, $"unknown IDE channel {stmt[1].Shown} (expected 'primary' or 'secondary')"),
                };
                break;
        }
    }

    /// <summary>A disk size: digits with an optional K, M, G or T (powers of 1024), a whole number
    /// of 512-byte sectors from 512 bytes to 16 TiB.</summary>
    private long DiskSize(ConfigToken t)
    {
        string s = t.Text;
        int shift = s.Length == 0 ? 0 : char.ToUpperInvariant(s[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        string digits = shift == 0 ? s : s[..^1];
        const long max = Bulkhead.Machine.Storage.DiskImage.MaxBytes;
        if (!t.Is(ConfigTokenKind.Word) || digits.Length is 0 or > 15 || !digits.All(char.IsAsciiDigit))
            throw Error(t.Line, $"bad disk size {t.Shown} (e.g. 256M, 1G, 1048576)");
        long n = long.Parse(digits, CultureInfo.InvariantCulture);
        if (n > max >> shift || (n << shift) < 512 || ((n << shift) & 511) != 0)
            throw Error(t.Line, $"disk size {t.Shown} must be a multiple of 512 bytes from 512 to 16T");
        return n << shift;
    }

    private void Backend(BootDevice d, List<ConfigToken> stmt)
    {
        if (stmt.Count < 2) throw Error(stmt[0].Line, "'backend' takes 'none', 'tap IFNAME' or 'udp LOCALPORT PEERHOST:PORT'");
        var kind = stmt[1];
        d.BackendLine = stmt[0].Line;
        switch (kind.Text)
        {
            case "none":
                Arity(stmt, 1, "'none', 'tap IFNAME' or 'udp LOCALPORT PEERHOST:PORT'");
                d.Backend = DeviceBackendKind.None;
                break;
            case "tap":
                Arity(stmt, 2, "'tap IFNAME'");
                string ifname = stmt[2].Text;
                if (ifname.Length is 0 or > 15 || !ifname.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                    throw Error(stmt[2].Line, $"bad interface name {stmt[2].Shown} (1..15 letters, digits, '_', '-', '.')");
                d.Backend = DeviceBackendKind.Tap;
                d.BackendInterface = ifname;
                break;
            case "udp":
                Arity(stmt, 3, "'udp LOCALPORT PEERHOST:PORT'");
                d.BackendLocalPort = Number(stmt[2], "the local UDP port", 0, 65535);
                var peer = stmt[3];
                int colon = peer.Text.LastIndexOf(':');
                if (colon <= 0 || colon == peer.Text.Length - 1) throw Error(peer.Line, $"bad UDP peer {peer.Shown} (expected HOST:PORT)");
                string host = peer.Text[..colon];
                if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
                d.BackendPeerPort = Number(peer with { Text = peer.Text[(colon + 1)..] }, "the peer UDP port", 1, 65535);
                if (host.Length == 0) throw Error(peer.Line, $"bad UDP peer {peer.Shown} (expected HOST:PORT)");
                d.BackendPeerHost = host;
                d.Backend = DeviceBackendKind.Udp;
                break;
            default:
                throw Error(kind.Line, $"unknown backend {kind.Shown} (expected 'none', 'tap' or 'udp')");
        }
    }

    private void PciAddress(BootDevice d, ConfigToken t)
    {
        var m = System.Text.RegularExpressions.Regex.Match(t.Text, @"^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$");
        if (!m.Success) throw Error(t.Line, $"bad PCI address {t.Shown} (expected BUS:DEV.FN, e.g. 00:03.0)");
        int dev = int.Parse(m.Groups[2].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        if (dev > 31) throw Error(t.Line, $"bad PCI address {t.Shown}: device 0x{dev:x} is beyond 1f");
        d.PciBus = int.Parse(m.Groups[1].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        d.PciDevice = dev;
        d.PciFunction = m.Groups[3].Value[0] - '0';
    }

    /// <summary>A hexadecimal number, with or without "0x".</summary>
    private int Hex(ConfigToken t, string what, int min, int max)
    {
        string s = t.Text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? t.Text[2..] : t.Text;
        if (!t.Is(ConfigTokenKind.Word) || s.Length is 0 or > 8 || !s.All(char.IsAsciiHexDigit)
            || !int.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int n))
            throw Error(t.Line, $"bad hex number {t.Shown} for {what}");
        if (n < min || n > max) throw Error(t.Line, $"{what} must be 0x{min:x}..0x{max:x}, not 0x{n:x}");
        return n;
    }

    private byte[] Mac(ConfigToken t)
    {
        var parts = t.Text.Split(':');
        if (!t.Is(ConfigTokenKind.Word) || parts.Length != 6 || parts.Any(p => p.Length != 2 || !p.All(char.IsAsciiHexDigit)))
            throw Error(t.Line, $"bad MAC address {t.Shown} (expected six hex bytes, e.g. 52:54:00:12:34:56)");
        var mac = parts.Select(p => byte.Parse(p, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)).ToArray();
        if ((mac[0] & 1) != 0) throw Error(t.Line, $"bad MAC address {t.Shown} (a multicast address; the first byte must be even)");
        return mac;
    }
}
