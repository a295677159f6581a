// An IPv4 address held as a host-order uint (network byte order only on the wire). Parse accepts
// dotted quads only ("10.0.2.15"); TryParse says no to anything else. Prefix masks are built
// from a length 0..32.
using System.Buffers.Binary;
using System.Globalization;

namespace Bulkhead.Servers.Inet.Wire;

public readonly record struct Ip4Address(uint Value)
{
    public static readonly Ip4Address Any = new(0);
    public static readonly Ip4Address Broadcast = new(0xFFFFFFFF);

    public bool IsAny => Value == 0;
    public bool IsBroadcast => Value == 0xFFFFFFFF;
    public bool IsMulticast => (Value >> 28) == 0xE;

    public static Ip4Address Read(ReadOnlySpan<byte> at) => new(BinaryPrimitives.ReadUInt32BigEndian(at));
    public void Write(Span<byte> at) => BinaryPrimitives.WriteUInt32BigEndian(at, Value);

    public static Ip4Address Mask(int prefixLength) =>
        new(prefixLength <= 0 ? 0 : prefixLength >= 32 ? 0xFFFFFFFF : ~(0xFFFFFFFFu >> prefixLength));

    /// <summary>The prefix length of a contiguous netmask, or -1 if the mask has holes.</summary>
    public int PrefixLength
    {
        get
        {
            int n = System.Numerics.BitOperations.LeadingZeroCount(~Value);
            return Mask(n).Value == Value ? n : -1;
        }
    }

    public static bool TryParse(string text, out Ip4Address address)
    {
        address = Any;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        uint v = 0;
        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit)) return false;
            int b = int.Parse(p, CultureInfo.InvariantCulture);
            if (b > 255) return false;
            v = (v << 8) | (uint)b;
        }
        address = new Ip4Address(v);
        return true;
    }

    public static Ip4Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv4 address (a.b.c.d)");

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}
