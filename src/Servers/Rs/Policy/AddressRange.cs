// A range of ISA I/O ports (`isa io`): Base and Length, written "base:len" in hex without a
// prefix, as in MINIX's drivers.conf ("300:20" = ports 0x300..0x31F). Length is at least 1;
// End is the first address past the range.
namespace Bulkhead.Servers.Rs.Policy;

public readonly record struct AddressRange(ulong Base, ulong Length)
{
    public ulong End => Base + Length;

    public bool Overlaps(AddressRange other) => Base < other.End && other.Base < End;

    public override string ToString() => $"{Base:x}:{Length:x}";
}
