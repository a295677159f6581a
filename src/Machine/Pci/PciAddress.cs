// A PCI function's geographical address: bus (0–255), device (0–31), function (0–7). Its
// RequesterId (bus<<8 | device<<3 | function) names the function to the IOMMU.
namespace Bulkhead.Machine.Pci;

public readonly record struct PciAddress(byte Bus, byte Device, byte Function)
{
    public bool IsValid => Device < 32 && Function < 8;

    public ushort RequesterId => (ushort)((Bus << 8) | (Device << 3) | Function);

    public override string ToString() => $"{Bus:x2}:{Device:x2}.{Function}";
}
