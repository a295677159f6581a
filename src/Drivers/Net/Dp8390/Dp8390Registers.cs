// The dp8390 driver's view of the DP8390 on an NE2000: register offsets and bits (National
// Semiconductor DP8390 datasheet names; docs/machine.md "NE2000 registers"), the card's data and
// reset ports, and the buffer layout this driver chooses. Offsets are relative to the card's I/O
// base; where a page-0 offset is one register when written and another when read, both names
// are here with the same value. The device model's own table is the machine's Ne2000Registers.
// No behaviour here.
namespace Bulkhead.Drivers.Net.Dp8390;

internal static class Dp8390Registers
{
    public const int PortCount = 0x20;
    public const int DataPort = 0x10;
    public const int ResetPort = 0x1F;

    // Page 0.
    public const int Cr = 0x00, Pstart = 0x01, Pstop = 0x02, Bnry = 0x03, Tpsr = 0x04, Tsr = 0x04,
        Tbcr0 = 0x05, Tbcr1 = 0x06, Isr = 0x07, Rsar0 = 0x08, Rsar1 = 0x09, Rbcr0 = 0x0A, Rbcr1 = 0x0B,
        Rcr = 0x0C, Tcr = 0x0D, Cntr0 = 0x0D, Dcr = 0x0E, Cntr1 = 0x0E, Imr = 0x0F, Cntr2 = 0x0F;
    // Page 1.
    public const int Par0 = 0x01, Curr = 0x07, Mar0 = 0x08;

    // CR.
    public const byte Stop = 0x01, Start = 0x02, Txp = 0x04, RemoteRead = 0x08, RemoteWrite = 0x10, NoDma = 0x20;
    public const byte Page0 = 0x00, Page1 = 0x40;

    // ISR / IMR.
    public const byte IsrPrx = 0x01, IsrPtx = 0x02, IsrRxe = 0x04, IsrTxe = 0x08, IsrOvw = 0x10,
        IsrCnt = 0x20, IsrRdc = 0x40, IsrRst = 0x80;
    public const byte ImrAll = IsrPrx | IsrPtx | IsrRxe | IsrTxe | IsrOvw | IsrCnt;

    // RCR, TCR, DCR.
    public const byte RcrAb = 0x04, RcrAm = 0x08, RcrPro = 0x10, RcrMon = 0x20;
    public const byte TcrNormal = 0x00, TcrLoopback = 0x02;
    public const byte DcrWordFifo = 0x49; // word transfer, normal operation, FIFO threshold 8 bytes

    // Buffer memory layout: 6 transmit pages at 0x40, the receive ring from 0x46 to 0x80.
    public const byte TxPage = 0x40, RingStart = 0x46, RingStop = 0x80;
    public const int PageSize = 256, RingHeader = 4, Fcs = 4, PromSize = 32;
}
