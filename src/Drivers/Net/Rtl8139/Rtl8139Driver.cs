// rtl8139: the network driver for a Realtek RTL8139 (thesis §3.4, Figs. 3.7–3.8), on the shared
// network-driver library (NetDriver). No arguments: everything comes from the system.
// Initialization follows Fig. 3.8: (1) ask the PCI-bus driver for the device its policy grants
// (10ec:8139) and reserve it, which gives this process the device's I/O window and IRQ line;
// enable I/O decoding and bus mastering in the command register; (2) allocate one page-aligned
// DMA region in its own arena — the receive ring (64 KiB, the largest RCR.RBLEN allows, so a
// burst of ~40 frames fits while the driver drains it; + 16 + 1536 bytes of slack for RCR.WRAP) and four 2 KiB transmit buffers — pin it with MAPDMA and have the IOMMU driver let
// the device reach exactly that region; reset the chip, read the MAC, program RBSTART/TSAD,
// IMR, RCR, TCR and start it; (3) register the IRQ with IRQCTL.
// Transmit: copy the frame to the current descriptor's buffer and write its TSD (size, OWN
// clear). Interrupt: read and acknowledge ISR; drain the ring (each packet header is checked:
// ROK, a sane length; a bad one, an overflow, or a transmit/bus error resets and reprograms
// the chip rather than trusting it), then IRQCTL Enable.
// Rules: the ring is read from the driver's own arena (the device writes it there through the
// IOMMU); nothing read from the device is trusted; a failure during initialization ends the
// driver, and RS restarts it: the driver is stateless, so it simply reinitializes the card.
using Bulkhead.Lib.Iommu;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;
using Bulkhead.Lib.Pci;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Net.Rtl8139;

public static class Rtl8139Driver
{
    public static int Run(string[] args)
    {
        if (args.Length > 1)
        {
            SysCall.Diag($"rtl8139: unexpected argument '{args[1]}' (the PCI-bus driver tells the driver its device)");
            return 2;
        }
        return new NetDriver(new Rtl8139Card()).Run(Channel.Current.Name);
    }
}

internal sealed class Rtl8139Card : INetDevice
{
    public const ushort Vendor = 0x10EC, Device = 0x8139;

    // Registers (RTL8139C datasheet).
    private const int Idr0 = 0x00, Mar0 = 0x08, Tsd0 = 0x10, Tsad0 = 0x20, RbStart = 0x30, Cr = 0x37, Capr = 0x38,
        Imr = 0x3C, Isr = 0x3E, Tcr = 0x40, Rcr = 0x44, Bmsr = 0x64;
    private const byte CrBufe = 0x01, CrTe = 0x04, CrRe = 0x08, CrRst = 0x10;
    private const ushort IntRok = 0x0001, IntRer = 0x0002, IntTok = 0x0004, IntTer = 0x0008, IntRxOvw = 0x0010,
        IntPun = 0x0020, IntFovw = 0x0040, IntSerr = 0x8000;
    private const ushort IntEnabled = IntRok | IntRer | IntTok | IntTer | IntRxOvw | IntPun | IntFovw | IntSerr;
    private const uint TsdOwn = 0x2000, TsdTok = 0x8000, TsdTabt = 0x40000000;
    private const uint RcrAap = 0x01, RcrApm = 0x02, RcrAm = 0x04, RcrAb = 0x08, RcrWrap = 0x80, RcrMxdmaUnlimited = 0x700, RcrRblen64K = 0x1800;
    private const uint TcrMxdma2048 = 0x700, TcrIfgNormal = 0x03000000;
    private const ushort RxStatRok = 0x0001;
    private const int PciCommand = 0x04;
    private const ushort PciCommandIo = 0x0001, PciCommandMaster = 0x0004;

    // The DMA region: ring (64 KiB, 16 bytes, 1536 of WRAP slack), then 4 transmit buffers.
    private const int RingSize = 65536, RingAlloc = RingSize + 16 + 1536, TxBufSize = 2048, PageSize = 4096;
    private const int TxOffset = (RingAlloc + PageSize - 1) / PageSize * PageSize;
    private const int DmaSize = TxOffset + 4 * TxBufSize;
    private const int HookId = 0;
    private const int MinFrame = 60, MaxPacket = 1518 + 4;

    private NetDriver? _driver;
    private int _bdf, _io, _irq;
    private long _dma = -1;      // arena offset of the page-aligned region
    private ulong _bus;          // its bus address
    private int _rxRead;         // ring offset of the next packet
    private int _txNext;
    private int _mode = NetDriverCall.ModeBroadcast;
    private int _error = Err.Ok;

    public byte[] Mac { get; } = new byte[6];
    public bool LinkUp { get; private set; }

    public int Init(NetDriver driver)
    {
        _driver = driver;
        // (1) The device, through the PCI-bus driver.
        int r = PciClient.Find(Vendor, Device, out var dev);
        if (r != Err.Ok) return Fail("no RTL8139 granted by the PCI-bus driver", r);
        _bdf = dev.Bdf;
        r = PciClient.Reserve(_bdf, out var res);
        if (r != Err.Ok) return Fail($"cannot reserve {PciCall.Bdf(_bdf)}", r);
        if (res.IoSize < 0x100 || res.Irq < 0) return Fail($"{PciCall.Bdf(_bdf)} has no I/O window or IRQ", Err.ENODEV);
        _io = res.IoBase;
        _irq = res.Irq;
        r = PciClient.ReadConfig(_bdf, PciCommand, 2, out uint cmd);
        if (r == Err.Ok) r = PciClient.WriteConfig(_bdf, PciCommand, 2, cmd | PciCommandIo | PciCommandMaster);
        if (r != Err.Ok) return Fail("cannot enable the device", r);

        // (2) DMA memory: our own pages, pinned, and the IOMMU told.
        if (_dma < 0)
        {
            long block = ArenaHeap.Allocate(DmaSize + PageSize);
            if (block < 0) return Fail("no memory for the DMA region", Err.ENOMEM);
            _dma = (block + PageSize - 1) & ~(long)(PageSize - 1);
        }
        r = SysCall.MapDma(_dma, DmaSize, out _bus);
        if (r != Err.Ok) return Fail("MAPDMA failed", r);
        r = IommuClient.Map(_bdf, _bus, DmaSize);
        if (r != Err.Ok) return Fail("the IOMMU driver refused the DMA region", r);

        r = StartChip();
        if (r != Err.Ok) return Fail("the chip did not start", r);

        // (3) The interrupt line the PCI-bus driver granted.
        r = SysCall.IrqCtl(IrqCtlRequest.SetPolicy, _irq, HookId);
        if (r != Err.Ok)
        {
            Out8(Cr, 0);
            return Fail($"cannot hook IRQ {_irq}", r);
        }
        SysCall.Diag($"rtl8139: {PciCall.Bdf(_bdf)} io 0x{_io:x} irq {_irq} mac {string.Join(':', Mac.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)))} dma 0x{_bus:x}");
        return Err.Ok;
    }

    /// <summary>Reset, MAC, rings, filters, interrupts, start. Also the recovery from errors.</summary>
    private int StartChip()
    {
        _error = Err.Ok;
        Out8(Cr, CrRst);
        for (int i = 0; i < 1000 && (In8(Cr) & CrRst) != 0 && _error == Err.Ok; i++) { }
        if (_error != Err.Ok) return _error;
        if ((In8(Cr) & CrRst) != 0) return Err.EIO;
        for (int i = 0; i < 6; i++) Mac[i] = In8(Idr0 + i);
        if ((Mac[0] & 1) != 0) return Err.ENODEV;
        Out32(RbStart, (uint)_bus);
        for (int i = 0; i < 4; i++) Out32(Tsad0 + 4 * i, (uint)(_bus + TxOffset + (ulong)(i * TxBufSize)));
        Out8(Cr, CrRe | CrTe);
        Out32(Tcr, TcrMxdma2048 | TcrIfgNormal);
        Out16(Capr, 0xFFF0); // read pointer 0 (the register holds it minus 16)
        _rxRead = 0;
        _txNext = 0;
        int mode = SetMode(_mode);
        Out16(Isr, 0xFFFF);
        Out16(Imr, IntEnabled);
        LinkUp = (In16(Bmsr) & 0x0004) != 0;
        return _error != Err.Ok ? _error : mode;
    }

    public int SetMode(int mode)
    {
        uint rcr = RcrApm | RcrWrap | RcrMxdmaUnlimited | RcrRblen64K;
        if ((mode & NetDriverCall.ModeBroadcast) != 0) rcr |= RcrAb;
        if ((mode & NetDriverCall.ModePromiscuous) != 0) rcr |= RcrAap;
        if ((mode & NetDriverCall.ModeMulticast) != 0) rcr |= RcrAm;
        for (int i = 0; i < 8; i++) Out8(Mar0 + i, (mode & NetDriverCall.ModeMulticast) != 0 ? (byte)0xFF : (byte)0);
        Out32(Rcr, rcr);
        _mode = mode;
        return _error;
    }

    public int Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length is < NetDriverCall.HeaderLength or > NetDriverCall.MaxFrame) return Err.EINVAL;
        int d = _txNext;
        uint tsd = In32(Tsd0 + 4 * d);
        if (_error != Err.Ok) return _error;
        if ((tsd & TsdOwn) == 0) return Err.EAGAIN; // the device still owns this descriptor
        var buf = Channel.Current.Arena.Slice((int)(_dma + TxOffset + d * TxBufSize), TxBufSize);
        frame.CopyTo(buf);
        int size = Math.Max(frame.Length, MinFrame);
        buf[frame.Length..size].Clear();
        Out32(Tsd0 + 4 * d, (uint)size); // OWN clear: the device's now
        _txNext = (d + 1) & 3;
        return _error;
    }

    public int PortError => _error;

    public void OnInterrupt(ulong hooks)
    {
        if ((hooks & (1UL << HookId)) == 0) return;
        ushort isr = In16(Isr);
        Out16(Isr, isr); // write-1-to-clear
        bool reset = (isr & (IntRxOvw | IntFovw | IntSerr | IntTer)) != 0;
        if ((isr & IntTer) != 0) _driver!.Stats.TxErrors++;
        if ((isr & (IntRer | IntRxOvw | IntFovw)) != 0) _driver!.Stats.RxErrors++;
        if ((isr & (IntRok | IntRer | IntRxOvw | IntFovw)) != 0 && !DrainRing()) reset = true;
        if (reset || _error != Err.Ok)
        {
            int r = StartChip();
            if (r != Err.Ok) SysCall.Diag($"rtl8139: chip reset failed: {Err.Name(r)}");
        }
        SysCall.IrqCtl(IrqCtlRequest.Enable, _irq, HookId);
    }

    /// <summary>Hands every complete packet in the ring to NetDriver; false if a header is bad.</summary>
    private bool DrainRing()
    {
        var arena = Channel.Current.Arena;
        for (int n = 0; n < RingSize / 16 && (In8(Cr) & CrBufe) == 0 && _error == Err.Ok; n++)
        {
            var ring = arena.Slice((int)_dma, RingAlloc);
            ushort status = (ushort)(ring[_rxRead] | ring[_rxRead + 1] << 8);
            int length = ring[_rxRead + 2] | ring[_rxRead + 3] << 8;
            if ((status & RxStatRok) == 0 || length < MinFrame + 4 || length > MaxPacket) return false;
            var frame = ring.Slice(_rxRead + 4, length - 4); // without the CRC; WRAP keeps it contiguous
            _driver!.Deliver(frame); // to a posted read, the receive queue, or counted as dropped
            _rxRead = ((_rxRead + 4 + length + 3) & ~3) % RingSize;
            Out16(Capr, (ushort)(_rxRead - 16));
        }
        return true;
    }

    private int Fail(string what, int r)
    {
        SysCall.Diag($"rtl8139: {what}: {Err.Name(r)}");
        return r == Err.Ok ? Err.EIO : r;
    }

    // Port access: every error is remembered; reads after an error answer all ones.
    private byte In8(int reg) => (byte)In(reg, 1);
    private ushort In16(int reg) => (ushort)In(reg, 2);
    private uint In32(int reg) => In(reg, 4);

    private uint In(int reg, int size)
    {
        int r = SysCall.InPort(_io + reg, size, out uint v);
        if (r == Err.Ok) return v;
        if (_error == Err.Ok) _error = r;
        return 0xFFFFFFFF;
    }

    private void Out8(int reg, byte v) => Out(reg, 1, v);
    private void Out16(int reg, ushort v) => Out(reg, 2, v);
    private void Out32(int reg, uint v) => Out(reg, 4, v);

    private void Out(int reg, int size, uint v)
    {
        int r = SysCall.OutPort(_io + reg, size, v);
        if (r != Err.Ok && _error == Err.Ok) _error = r;
    }
}
