// A PCI device identity granted by `pci device vvvv/dddd` (vendor/device in hex, thesis
// Fig. 3.7: "pci device 10ec/8139"). The PCI-bus driver, not the kernel, enforces it.
namespace Bulkhead.Servers.Rs.Policy;

public readonly record struct PciDevice(ushort Vendor, ushort Device)
{
    public override string ToString() => $"{Vendor:x4}/{Device:x4}";
}
