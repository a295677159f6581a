// Offsets and bits of the RTL8139's 256-byte I/O register window (Realtek RTL8139C
// datasheet; the facts also listed in docs/machine.md "RTL8139 registers"). The one place that
// knows the numbers: the model and its tests use these names.
namespace Bulkhead.Machine.Devices.Rtl8139;

public static class Rtl8139Registers
{
    // Register offsets.
    public const int Idr0 = 0x00, Mar0 = 0x08, Tsd0 = 0x10, Tsad0 = 0x20, RbStart = 0x30;
    public const int Erbcr = 0x34, Ersr = 0x36, Cr = 0x37, Capr = 0x38, Cbr = 0x3A, Imr = 0x3C, Isr = 0x3E;
    public const int Tcr = 0x40, Rcr = 0x44, Tctr = 0x48, Mpc = 0x4C, Cr9346 = 0x50;
    public const int Config0 = 0x51, Config1 = 0x52, TimerInt = 0x54, Msr = 0x58, Config3 = 0x59, Config4 = 0x5A;
    public const int MulInt = 0x5C, RerId = 0x5E, TsadAll = 0x60, Bmcr = 0x62, Bmsr = 0x64, Anar = 0x66, Anlpar = 0x68, Aner = 0x6A;

    // CR.
    public const byte CrBufe = 0x01, CrTe = 0x04, CrRe = 0x08, CrRst = 0x10;

    // ISR and IMR.
    public const ushort IntRok = 0x0001, IntRer = 0x0002, IntTok = 0x0004, IntTer = 0x0008, IntRxOvw = 0x0010,
        IntPun = 0x0020, IntFovw = 0x0040, IntLenChg = 0x2000, IntTimeout = 0x4000, IntSerr = 0x8000;
    public const ushort IntAll = 0xE07F;

    // TSD0–3.
    public const uint TsdSizeMask = 0x1FFF, TsdOwn = 0x2000, TsdTun = 0x4000, TsdTok = 0x8000,
        TsdErtxthMask = 0x003F0000, TsdTabt = 0x40000000, TsdCrs = 0x80000000;
    public const int MaxTxSize = 1792;

    // TCR.
    public const uint TcrClrAbt = 0x00000001, TcrWritable = 0x030707F0; // TXRR, MXDMA, CRC, LBK, IFG
    public const uint TcrHwVersion = 0x74000000; // RTL8139C

    // RCR.
    public const uint RcrAap = 0x01, RcrApm = 0x02, RcrAm = 0x04, RcrAb = 0x08, RcrAr = 0x10, RcrAer = 0x20,
        RcrWrap = 0x80, RcrRblenShift = 11, RcrRblenMask = 0x1800;
    public const uint RcrWritable = 0x0F03FFBF;

    // Receive packet header status.
    public const ushort RxStatRok = 0x0001, RxStatBar = 0x2000, RxStatPam = 0x4000, RxStatMar = 0x8000;

    // 9346CR operating modes (bits 7–6).
    public const byte Eem9346Mask = 0xC0, Eem9346AutoLoad = 0x40, Eem9346ConfigWrite = 0xC0;
}
