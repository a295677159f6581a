// A class of PCI devices granted by `pci class cc/ss[/pp]` (class, subclass and optional
// programming interface in hex). Interface is null when not given: any interface matches.
namespace Bulkhead.Servers.Rs.Policy;

public readonly record struct PciClass(byte Class, byte Subclass, byte? Interface)
{
    public bool Matches(byte cls, byte sub, byte iface) => cls == Class && sub == Subclass && (Interface is null || Interface == iface);

    public override string ToString() => Interface is { } p ? $"{Class:x2}/{Subclass:x2}/{p:x2}" : $"{Class:x2}/{Subclass:x2}";
}
