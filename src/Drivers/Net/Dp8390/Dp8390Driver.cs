// dp8390: the network driver for an NE2000 (DP8390) card. Arguments after "dp8390":
// "io=0x300" (the card's I/O base; 32 ports) and "irq=9". It resets and probes the card
// (ISR.RST must follow a reset), reads the MAC from the PROM by remote DMA, sets up the
// receive ring (PSTART 0x46, PSTOP 0x80, TPSR 0x40), IMR and RCR, starts the card and hooks its
// IRQ with IRQCTL (hook bit 0); then serves NetDriverCall requests through NetDriver.
// Transmit: remote-DMA write to TPSR·256, TBCR, CR.TXP. Interrupt: read ISR, recover from
// OVW (datasheet procedure), acknowledge and drain the ring on PRX/RXE (frames go to a posted
// buffer or are dropped and counted), finish the transmission on PTX/TXE, read the tally
// counters on CNT; then IRQCTL Enable.
// Rules: arguments are parsed strictly before any port is touched; every ring header read
// from the card is checked (next page inside the ring, a sane length) and a bad one resets
// the ring rather than being trusted; a port error during init ends the driver cleanly.
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;
using Bulkhead.Lib.Sys;
using static Bulkhead.Drivers.Net.Dp8390.Ne2000Regs;

namespace Bulkhead.Drivers.Net.Dp8390;

public static class Dp8390Driver
{
    public static int Run(string[] args)
    {
        int io = -1, irq = -1;
        foreach (string a in args.Skip(1))
        {
            if (a.StartsWith("io=", StringComparison.Ordinal) && TryNumber(a[3..], out int v) && v is >= 0 and <= 0xFFFF - PortCount) io = v;
            else if (a.StartsWith("irq=", StringComparison.Ordinal) && TryNumber(a[4..], out v) && v is >= 0 and < 64) irq = v;
            else
            {
                SysCall.Diag($"dp8390: bad argument '{a}' (want io=0x300 irq=9)");
                return 2;
            }
        }
        if (io < 0 || irq < 0)
        {
            SysCall.Diag("dp8390: io= and irq= are required");
            return 2;
        }
        string label = Channel.Current.Name;
        var card = new Dp8390Card(io, irq);
        return new NetDriver(card).Run(label);
    }

    private static bool TryNumber(string s, out int value) =>
        s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}

internal sealed class Dp8390Card : INetDevice
{
    private const int HookId = 0;
    private readonly Dp8390Ports _p;
    private readonly int _irq;
    private readonly byte[] _frame = new byte[NetDriverCall.MaxFrame + Fcs + 2];
    private NetDriver? _driver;
    private bool _txBusy;

    public Dp8390Card(int ioBase, int irq)
    {
        _p = new Dp8390Ports(ioBase);
        _irq = irq;
    }

    public byte[] Mac { get; } = new byte[6];
    public bool LinkUp { get; private set; }

    public int Init(NetDriver driver)
    {
        _driver = driver;
        int r = _p.Allocate();
        if (r != Err.Ok) return r;

        // Reset and probe: a reset sets ISR.RST; nothing else there answers that way.
        _p.In(ResetPort);
        if (_p.Error != Err.Ok) return _p.Error;
        _p.Out(ResetPort, 0);
        if ((_p.In(Isr) & IsrRst) == 0) return Err.ENODEV;
        _p.Out(Cr, Page0 | NoDma | Stop);
        _p.Out(Dcr, DcrWordFifo);
        _p.Out(Rbcr0, 0);
        _p.Out(Rbcr1, 0);
        _p.Out(Rcr, RcrMon);
        _p.Out(Tcr, TcrLoopback);
        _p.Out(Isr, 0xFF);
        _p.Out(Imr, 0);
        if (_p.Error != Err.Ok) return _p.Error;

        // The PROM holds each MAC byte twice (word-wide wiring).
        Span<byte> prom = stackalloc byte[PromSize];
        DmaRead(0, prom);
        for (int i = 0; i < 6; i++) Mac[i] = prom[2 * i];
        if (_p.Error != Err.Ok) return _p.Error;
        if ((Mac[0] & 1) != 0) return Err.ENODEV; // a multicast station address: no PROM there

        // Ring, address, filter, start.
        _p.Out(Cr, Page0 | NoDma | Stop);
        _p.Out(Pstart, RingStart);
        _p.Out(Pstop, RingStop);
        _p.Out(Bnry, RingStart);
        _p.Out(Tpsr, TxPage);
        _p.Out(Cr, Page1 | NoDma | Stop);
        for (int i = 0; i < 6; i++) _p.Out(Par0 + i, Mac[i]);
        for (int i = 0; i < 8; i++) _p.Out(Mar0 + i, 0);
        _p.Out(Curr, RingStart + 1);
        _p.Out(Cr, Page0 | NoDma | Start);
        _p.Out(Isr, 0xFF);
        _p.Out(Imr, ImrAll);
        _p.Out(Rcr, RcrAb);
        _p.Out(Tcr, TcrNormal);
        if (_p.Error != Err.Ok) return _p.Error;

        r = SysCall.IrqCtl(IrqCtlRequest.SetPolicy, _irq, HookId);
        if (r != Err.Ok)
        {
            _p.Out(Imr, 0);
            _p.Out(Cr, Page0 | NoDma | Stop);
            return r;
        }
        LinkUp = true;
        return Err.Ok;
    }

    public int SetMode(int mode)
    {
        byte rcr = 0;
        if ((mode & NetDriverCall.ModeBroadcast) != 0) rcr |= RcrAb;
        if ((mode & NetDriverCall.ModePromiscuous) != 0) rcr |= RcrPro;
        if ((mode & NetDriverCall.ModeMulticast) != 0)
        {
            // Accept every multicast: all hash bits set.
            rcr |= RcrAm;
            _p.Out(Cr, Page1 | NoDma | Start);
            for (int i = 0; i < 8; i++) _p.Out(Mar0 + i, 0xFF);
            _p.Out(Cr, Page0 | NoDma | Start);
        }
        _p.Out(Rcr, rcr);
        return _p.Error;
    }

    public int Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length is < NetDriverCall.HeaderLength or > NetDriverCall.MaxFrame) return Err.EINVAL;
        if (_txBusy)
        {
            // The previous transmission's interrupt may not have been serviced yet: look.
            byte isr = _p.In(Isr);
            if ((isr & (IsrPtx | IsrTxe)) == 0) return Err.EAGAIN;
            _p.Out(Isr, (byte)(isr & (IsrPtx | IsrTxe)));
            TransmitDone(isr);
        }
        int length = Math.Max(frame.Length, NetDriverCall.MinFrame);
        Span<byte> padded = _frame.AsSpan(0, length);
        padded.Clear();
        frame.CopyTo(padded);
        DmaWrite(TxPage * PageSize, padded);
        _p.Out(Tbcr0, (byte)length);
        _p.Out(Tbcr1, (byte)(length >> 8));
        _p.Out(Cr, Page0 | NoDma | Txp | Start);
        if (_p.Error != Err.Ok) return _p.Error;
        _txBusy = true;
        return Err.Ok;
    }

    public void OnInterrupt(ulong hooks)
    {
        if ((hooks & (1UL << HookId)) == 0) return;
        for (int round = 0; round < 32; round++)
        {
            byte isr = _p.In(Isr);
            if (_p.Error != Err.Ok || (isr & 0x7F) == 0) break;
            if ((isr & IsrOvw) != 0)
            {
                RecoverFromOverflow();
                continue;
            }
            _p.Out(Isr, (byte)(isr & 0x7F));
            if ((isr & IsrRxe) != 0) _driver!.Stats.RxErrors++;
            if ((isr & (IsrPrx | IsrRxe)) != 0) DrainRing();
            if ((isr & (IsrPtx | IsrTxe)) != 0) TransmitDone(isr);
            if ((isr & IsrCnt) != 0) ReadCounters();
        }
        SysCall.IrqCtl(IrqCtlRequest.Enable, _irq);
    }

    private void TransmitDone(byte isr)
    {
        _txBusy = false;
        if ((isr & IsrTxe) != 0) _driver!.Stats.TxErrors++;
    }

    private void ReadCounters()
    {
        _p.In(Cntr0);
        _p.In(Cntr1);
        _driver!.Stats.Dropped += _p.In(Cntr2); // frames the chip missed
    }

    /// <summary>Datasheet §"Buffer ring overflow": stop, clear RBCR, loopback, start, drain, ack, normal.</summary>
    private void RecoverFromOverflow()
    {
        _driver!.Stats.Overruns++;
        byte cr = _p.In(Cr);
        _p.Out(Cr, Page0 | NoDma | Stop);
        _p.Out(Rbcr0, 0);
        _p.Out(Rbcr1, 0);
        byte isr = _p.In(Isr);
        bool resend = (cr & Txp) != 0 && (isr & (IsrPtx | IsrTxe)) == 0;
        _p.Out(Tcr, TcrLoopback);
        _p.Out(Cr, Page0 | NoDma | Start);
        DrainRing();
        _p.Out(Isr, IsrOvw);
        _p.Out(Tcr, TcrNormal);
        if (resend) _p.Out(Cr, Page0 | NoDma | Txp | Start);
    }

    private byte ReadCurr()
    {
        _p.Out(Cr, Page1 | NoDma | Start);
        byte curr = _p.In(Curr);
        _p.Out(Cr, Page0 | NoDma | Start);
        return curr;
    }

    private static byte Before(int page) => (byte)(page == RingStart ? RingStop - 1 : page - 1);

    /// <summary>Takes every frame between BNRY+1 and CURR out of the ring.</summary>
    private void DrainRing()
    {
        Span<byte> header = stackalloc byte[RingHeader];
        for (int frames = 0; frames < RingStop - RingStart; frames++)
        {
            byte curr = ReadCurr();
            int bnry = _p.In(Bnry);
            if (_p.Error != Err.Ok) return;
            int page = bnry + 1 >= RingStop ? RingStart : bnry + 1;
            if (curr is < RingStart or >= RingStop || page == curr) return;

            DmaRead(page * PageSize, header);
            int next = header[1];
            int length = header[2] | (header[3] << 8);
            if (next is < RingStart or >= RingStop || length < NetDriverCall.HeaderLength + Fcs || length > NetDriverCall.MaxFrame + Fcs)
            {
                // A corrupt header: give up on the frames in the ring.
                _driver!.Stats.RxErrors++;
                _p.Out(Bnry, Before(curr));
                return;
            }
            int frameLength = length - Fcs;
            if (_driver!.HasReader)
            {
                var data = _frame.AsSpan(0, frameLength);
                DmaRead(page * PageSize + RingHeader, data);
                if (_p.Error != Err.Ok) return;
                _driver.Deliver(data);
            }
            else
            {
                _driver.Drop();
            }
            _p.Out(Bnry, Before(next));
        }
    }

    private void SetRemote(int address, int count)
    {
        _p.Out(Rsar0, (byte)address);
        _p.Out(Rsar1, (byte)(address >> 8));
        _p.Out(Rbcr0, (byte)count);
        _p.Out(Rbcr1, (byte)(count >> 8));
    }

    private void DmaRead(int address, Span<byte> into)
    {
        int count = (into.Length + 1) & ~1;
        SetRemote(address, count);
        _p.Out(Cr, Page0 | RemoteRead | Start);
        _p.ReadData(into);
        _p.Out(Cr, Page0 | NoDma | Start);
        _p.Out(Isr, IsrRdc);
    }

    private void DmaWrite(int address, ReadOnlySpan<byte> data)
    {
        int count = (data.Length + 1) & ~1;
        SetRemote(address, count);
        _p.Out(Cr, Page0 | RemoteWrite | Start);
        _p.WriteData(data);
        _p.Out(Cr, Page0 | NoDma | Start);
        _p.Out(Isr, IsrRdc);
    }
}
