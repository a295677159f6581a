// IPv4 addresses as programs write them: dotted quads to and from the host-order numbers the
// socket calls carry (InetCall: a.b.c.d = a << 24 | b << 16 | c << 8 | d).
using System.Globalization;

namespace Bulkhead.Lib.Net;

public static class Ip4
{
    /// <summary>Parses "a.b.c.d" (each 0..255, decimal); false for anything else.</summary>
    public static bool TryParse(string text, out uint address)
    {
        address = 0;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) ||
                !byte.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out byte b)) return false;
            address = (address << 8) | b;
        }
        return true;
    }

    public static string Format(uint address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 0xFF}.{(address >> 8) & 0xFF}.{address & 0xFF}");
}
