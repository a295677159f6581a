// A 48-bit Ethernet address held in the low bits of a ulong. Parse accepts six colon-separated
// hex pairs ("52:54:00:12:34:56").
using System.Globalization;

namespace Bulkhead.Servers.Inet.Wire;

public readonly record struct MacAddress(ulong Value)
{
    public static readonly MacAddress Zero = new(0);
    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFF);

    public bool IsBroadcast => Value == Broadcast.Value;
    /// <summary>Group bit: the least significant bit of the first octet (broadcast and multicast).</summary>
    public bool IsGroup => ((Value >> 40) & 1) != 0;

    public static MacAddress Read(ReadOnlySpan<byte> at)
    {
        ulong v = 0;
        for (int i = 0; i < 6; i++) v = (v << 8) | at[i];
        return new MacAddress(v);
    }

    public void Write(Span<byte> at)
    {
        for (int i = 0; i < 6; i++) at[i] = (byte)(Value >> (40 - 8 * i));
    }

    public static bool TryParse(string text, out MacAddress mac)
    {
        mac = Zero;
        var parts = text.Split(':');
        if (parts.Length != 6) return false;
        ulong v = 0;
        foreach (var p in parts)
        {
            if (p.Length != 2 || !byte.TryParse(p, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b)) return false;
            v = (v << 8) | b;
        }
        mac = new MacAddress(v);
        return true;
    }

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        Write(b);
        return $"{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}:{b[4]:x2}:{b[5]:x2}";
    }
}
