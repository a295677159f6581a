// Which IDE channel of a PC an ATA controller model is: in compatibility mode the channel fixes
// the legacy command and control ports and the IRQ (primary 0x1F0–0x1F7, 0x3F6, IRQ 14;
// secondary 0x170–0x177, 0x376, IRQ 15), the half of the bus-master block its registers use
// (BAR4+0 or BAR4+8) and which of PIIX3's IDE timing registers (IDETIM, 0x40 or 0x42) has its
// decode enabled. The numbers are AtaRegisters'.
namespace Bulkhead.Machine.Devices.Ata;

public enum AtaChannel
{
    Primary,
    Secondary,
}
