// One device's view of memory through the Iommu: every Read/Write is checked against the
// device's page bitmap (all frames it touches) before PhysicalMemory is reached; a refused
// access returns false, transfers nothing, and counts in Iommu.Denied for the device.
namespace Bulkhead.Machine.Dma;

internal sealed class IommuPort(Iommu iommu, ushort deviceId) : IDmaPort
{
    public ushort DeviceId => deviceId;

    public bool Read(ulong address, Span<byte> destination) =>
        iommu.Access(deviceId, address, destination, default, write: false);

    public bool Write(ulong address, ReadOnlySpan<byte> source) =>
        iommu.Access(deviceId, address, default, source, write: true);
}
