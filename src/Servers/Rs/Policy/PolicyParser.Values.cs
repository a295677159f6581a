// Numbers in drivers.conf: ranges "base:len" and PCI ids "vvvv/dddd", "cc/ss[/pp]" are hex
// without a prefix (as in MINIX); IRQ lines are decimal 0..15. Each parse checks the syntax
// and the bounds and names the offending word on failure.
using System.Globalization;

using Bulkhead.Lib.Config;

namespace Bulkhead.Servers.Rs.Policy;

internal sealed partial class PolicyParser
{
    /// <summary>"base:len" in hex; len ≥ 1 and the range must end at or before <paramref name="last"/>.</summary>
    private AddressRange Range(ConfigToken v, string key, ulong last)
    {
        var parts = v.Text.Split(':');
        if (parts.Length != 2 || !Hex(parts[0], 8, out ulong start) || !Hex(parts[1], 9, out ulong length))
            throw Error(v.Line, $"bad '{key}' range '{v.Text}' (expected BASE:LEN in hex, e.g. 300:20)");
        if (length == 0) throw Error(v.Line, $"bad '{key}' range '{v.Text}': length is 0");
        if (start > last || length - 1 > last - start)
            throw Error(v.Line, $"bad '{key}' range '{v.Text}': it ends past {last:x}");
        return new AddressRange(start, length);
    }

    private int Irq(ConfigToken v)
    {
        int irq = v.Text.Length is >= 1 and <= 2 && v.Text.All(char.IsAsciiDigit)
            ? int.Parse(v.Text, NumberStyles.None, CultureInfo.InvariantCulture)
            : -1;
        if (irq is < 0 or > Policy.MaxIrq) throw Error(v.Line, $"bad 'isa irq' '{v.Text}' (expected 0..{Policy.MaxIrq})");
        return irq;
    }

    private PciDevice Device(ConfigToken v)
    {
        var parts = v.Text.Split('/');
        if (parts.Length != 2 || !Hex(parts[0], 4, out ulong vendor) || !Hex(parts[1], 4, out ulong device))
            throw Error(v.Line, $"bad 'pci device' '{v.Text}' (expected VVVV/DDDD in hex, e.g. 10ec/8139)");
        return new PciDevice((ushort)vendor, (ushort)device);
    }

    private PciClass Class(ConfigToken v)
    {
        var parts = v.Text.Split('/');
        ulong iface = 0;
        if (parts.Length is < 2 or > 3 || !Hex(parts[0], 2, out ulong cls) || !Hex(parts[1], 2, out ulong sub)
            || (parts.Length == 3 && !Hex(parts[2], 2, out iface)))
            throw Error(v.Line, $"bad 'pci class' '{v.Text}' (expected CC/SS or CC/SS/PP in hex, e.g. 02/00)");
        return new PciClass((byte)cls, (byte)sub, parts.Length == 3 ? (byte)iface : null);
    }

    /// <summary>1..<paramref name="maxDigits"/> hex digits, no prefix, no sign.</summary>
    private static bool Hex(string s, int maxDigits, out ulong value)
    {
        value = 0;
        return s.Length >= 1 && s.Length <= maxDigits && s.All(char.IsAsciiHexDigit)
            && ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
