// The NE2000 card as the device model builds it: its DP8390's register numbers and bit values,
// as the National Semiconductor datasheet names them, the card's ports around the chip, its
// address space (PROM, buffer memory) and the Ethernet sizes the chip enforces
// (docs/machine.md "NE2000 registers"). Register offsets are relative to the NE2000's base port;
// which register an offset reaches depends on the page selected by CR bits 6–7 and on the
// direction (several page-0 offsets are one register when written and another when read). The
// dp8390 driver keeps its own table (Dp8390Registers). Nothing here has behaviour.
namespace Bulkhead.Machine.Devices.Ne2000;

internal static class Ne2000Registers
{
    // Port layout of the NE2000 card around the chip.
    public const int DataPort = 0x10;
    public const int ResetPort = 0x1F;
    public const int PortCount = 0x20;

    // CR, the command register (offset 0 on every page).
    public const byte CrStop = 0x01;
    public const byte CrStart = 0x02;
    public const byte CrTransmit = 0x04;
    public const byte CrRemoteDmaMask = 0x38;
    public const byte CrRemoteRead = 0x08;
    public const byte CrRemoteWrite = 0x10;
    public const byte CrSendPacket = 0x18;
    public const byte CrPageShift = 6;

    // Page 0, written.
    public const int Pstart = 0x01, Pstop = 0x02, Bnry = 0x03, Tpsr = 0x04, Tbcr0 = 0x05, Tbcr1 = 0x06,
        Isr = 0x07, Rsar0 = 0x08, Rsar1 = 0x09, Rbcr0 = 0x0A, Rbcr1 = 0x0B, Rcr = 0x0C, Tcr = 0x0D,
        Dcr = 0x0E, Imr = 0x0F;

    // Page 0, read (where different from the written register at the same offset).
    public const int Clda0 = 0x01, Clda1 = 0x02, Tsr = 0x04, Ncr = 0x05, Fifo = 0x06, Crda0 = 0x08,
        Crda1 = 0x09, Rsr = 0x0C, Cntr0 = 0x0D, Cntr1 = 0x0E, Cntr2 = 0x0F;

    // Page 1.
    public const int Par0 = 0x01, Curr = 0x07, Mar0 = 0x08;

    // Page 2 (read only here): the page-0 write registers read back, plus internal pointers.
    public const int Rnpp = 0x03, Lnpp = 0x05, AddressUpper = 0x06, AddressLower = 0x07;

    // ISR bits; RST never raises the interrupt line.
    public const byte IsrPrx = 0x01, IsrPtx = 0x02, IsrRxe = 0x04, IsrTxe = 0x08, IsrOvw = 0x10,
        IsrCnt = 0x20, IsrRdc = 0x40, IsrRst = 0x80;
    public const byte IsrInterruptMask = 0x7F;

    // TSR bits.
    public const byte TsrPtx = 0x01, TsrAbt = 0x08;

    // RSR bits.
    public const byte RsrPrx = 0x01, RsrMpa = 0x10, RsrPhy = 0x20, RsrDis = 0x40;

    // RCR bits.
    public const byte RcrSep = 0x01, RcrAr = 0x02, RcrAb = 0x04, RcrAm = 0x08, RcrPro = 0x10, RcrMon = 0x20;

    // TCR bits: CRC inhibit, loopback mode (bits 1–2).
    public const byte TcrCrcInhibit = 0x01, TcrLoopbackMask = 0x06;

    // DCR bits: word transfer select.
    public const byte DcrWordTransfer = 0x01;

    // The NE2000's address space as the remote and local DMA see it.
    public const int PromSize = 0x20;
    public const int RamStart = 0x4000;
    public const int RamSize = 0x8000;
    public const int PageSize = 256;

    // Ethernet sizes: the minimum frame with its FCS, the FCS, the maximum frame without it.
    public const int MinFrameWithFcs = 64;
    public const int FcsLength = 4;
    public const int MaxFrameWithoutFcs = 1514;
    public const int HeaderLength = 4;

    // Tally counters saturate here.
    public const byte CounterMax = 192;
}
