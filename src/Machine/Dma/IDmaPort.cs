// A bus-master device's view of "physical memory": every access goes through the IOMMU,
// which allows only the pages programmed for this device (AMD DEV style). A refused access
// returns false (the device then flags a bus error the way its datasheet says); nothing is
// transferred. Addresses are bus addresses.
namespace Bulkhead.Machine.Dma;

public interface IDmaPort
{
    bool Read(ulong address, Span<byte> destination);

    bool Write(ulong address, ReadOnlySpan<byte> source);
}
