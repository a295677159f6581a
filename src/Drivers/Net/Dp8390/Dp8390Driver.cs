// dp8390: the network driver for an NE2000 (DP8390) card. Arguments after "dp8390":
// "io=0x300" (the card's I/O base; 32 ports) and "irq=9". It resets and probes the card
// (ISR.RST must follow a reset), reads the MAC from the PROM by remote DMA, sets up the
// receive ring (PSTART 0x46, PSTOP 0x80, TPSR 0x40), IMR and RCR, starts the card and hooks its
// IRQ with IRQCTL (hook bit 0); then serves NetDriverCall requests through NetDriver.
// Transmit: remote-DMA write to TPSR·256, TBCR, CR.TXP. Interrupt: read ISR, recover from
// OVW (datasheet procedure), acknowledge and drain the ring on PRX/RXE (frames go to a posted
// buffer or are dropped and counted), finish the transmission on PTX/TXE, read the tally
// counters on CNT; then IRQCTL Enable.
// Cost: port accesses are batched by Dp8390Ports (consecutive register writes in one VDEVIO,
// in the order written), and the driver does not read back what it set itself: BNRY is kept
// here (the chip never changes it), and CURR is read once per drain — a frame that arrives
// meanwhile raises ISR.PRX again; a received frame's header comes with its first 124 bytes.
// A 64-byte frame costs three port calls to send and seven to take in.
// Rules: arguments are parsed strictly before any port is touched; every ring header read
// from the card is checked (a sane length, a next page right after the frame) and a bad one
// resets the ring rather than being trusted; after a port error no port is touched again and the
// operation ends (a port error during init ends the driver cleanly); nothing is left queued
// when a request or an interrupt has been handled.
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;
using Bulkhead.Lib.Sys;
using static Bulkhead.Drivers.Net.Dp8390.Dp8390Registers;

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
    /// <summary>Bytes read at a received frame's first page before its header is known: one
    /// full VDEVIO of words, and less than a page.</summary>
    private const int HeadBurst = 2 * VDevIoRequest.MaxEntries;
    private readonly Dp8390Ports _p;
    private readonly int _irq;
    private readonly byte[] _frame = new byte[RingHeader + NetDriverCall.MaxFrame]; // a received frame with its ring header, or one to send
    private NetDriver? _driver;
    private bool _txBusy;
    private byte _bnry; // what the driver last wrote to BNRY; the chip never changes it

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
        byte isr = _p.In(Isr);
        if (_p.Error != Err.Ok) return _p.Error;
        if ((isr & IsrRst) == 0) return Err.ENODEV;
        _p.Out(Cr, Page0 | NoDma | Stop);
        _p.Out(Dcr, DcrWordFifo);
        _p.Out(Rbcr0, 0);
        _p.Out(Rbcr1, 0);
        _p.Out(Rcr, RcrMon);
        _p.Out(Tcr, TcrLoopback);
        _p.Out(Isr, 0xFF);
        _p.Out(Imr, 0);

        // The PROM holds each MAC byte twice (word-wide wiring). The writes above go out with
        // the remote-DMA setup; if they fail, the read does not happen.
        Span<byte> prom = stackalloc byte[PromSize];
        DmaRead(0, prom);
        if (_p.Error != Err.Ok) return _p.Error;
        for (int i = 0; i < 6; i++) Mac[i] = prom[2 * i];
        if ((Mac[0] & 1) != 0)
        {
            _p.Flush();
            return Err.ENODEV; // a multicast station address: no PROM there
        }

        // Ring, address, filter, start.
        _p.Out(Cr, Page0 | NoDma | Stop);
        _p.Out(Pstart, RingStart);
        _p.Out(Pstop, RingStop);
        SetBoundary(RingStart);
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
        r = _p.Flush();
        if (r != Err.Ok) return r;

        r = SysCall.IrqCtl(IrqCtlRequest.SetPolicy, _irq, HookId);
        if (r != Err.Ok)
        {
            _p.Out(Imr, 0);
            _p.Out(Cr, Page0 | NoDma | Stop);
            _p.Flush();
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
        return _p.Flush();
    }

    public int Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length is < NetDriverCall.HeaderLength or > NetDriverCall.MaxFrame) return Err.EINVAL;
        if (_txBusy)
        {
            // The previous transmission's interrupt may not have been serviced yet: look.
            byte isr = _p.In(Isr);
            if (_p.Error != Err.Ok) return _p.Error;
            if ((isr & (IsrPtx | IsrTxe)) == 0) return Err.EAGAIN;
            _p.Out(Isr, (byte)(isr & (IsrPtx | IsrTxe))); // goes out with the remote-DMA setup
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
        int r = _p.Flush(); // nothing of this goes out if the frame's transfer failed
        if (r != Err.Ok) return r;
        _txBusy = true;
        return Err.Ok;
    }

    public int PortError => _p.Error;

    public void OnInterrupt(ulong hooks)
    {
        if ((hooks & (1UL << HookId)) == 0) return;
        for (int round = 0; round < 32; round++)
        {
            byte isr = _p.In(Isr); // performs what the previous round queued first
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
        _p.Flush();
        SysCall.IrqCtl(IrqCtlRequest.Enable, _irq);
    }

    private void TransmitDone(byte isr)
    {
        _txBusy = false;
        if ((isr & IsrTxe) != 0) _driver!.Stats.TxErrors++;
    }

    private void ReadCounters()
    {
        Span<byte> counters = stackalloc byte[3];
        _p.In([Cntr0, Cntr1, Cntr2], counters);
        if (_p.Error == Err.Ok) _driver!.Stats.Dropped += counters[2]; // frames the chip missed
    }

    /// <summary>Datasheet §"Buffer ring overflow": stop, clear RBCR, loopback, start, drain, ack, normal.</summary>
    private void RecoverFromOverflow()
    {
        _driver!.Stats.Overruns++;
        byte cr = _p.In(Cr);
        _p.Out(Cr, Page0 | NoDma | Stop);
        _p.Out(Rbcr0, 0);
        _p.Out(Rbcr1, 0);
        byte isr = _p.In(Isr); // also puts the three writes above out before the restart
        bool resend = (cr & Txp) != 0 && (isr & (IsrPtx | IsrTxe)) == 0;
        _p.Out(Tcr, TcrLoopback);
        _p.Out(Cr, Page0 | NoDma | Start);
        DrainRing();
        _p.Out(Isr, IsrOvw);
        _p.Out(Tcr, TcrNormal);
        if (resend) _p.Out(Cr, Page0 | NoDma | Txp | Start);
    }

    /// <summary>CURR, a page-1 register; the switch back to page 0 is queued and goes out with what follows.</summary>
    private byte ReadCurr()
    {
        _p.Out(Cr, Page1 | NoDma | Start);
        byte curr = _p.In(Curr);
        _p.Out(Cr, Page0 | NoDma | Start);
        return curr;
    }

    private void SetBoundary(byte page)
    {
        _p.Out(Bnry, page);
        _bnry = page;
    }

    private static byte Before(int page) => (byte)(page == RingStart ? RingStop - 1 : page - 1);

    private static int After(int page) => page + 1 >= RingStop ? RingStart : page + 1;

    /// <summary>The page after a frame of <paramref name="length"/> bytes (plus its ring header)
    /// stored from <paramref name="page"/>: where its header's next pointer must point.</summary>
    private static int PageAfter(int page, int length)
    {
        int next = page + (RingHeader + length + PageSize - 1) / PageSize;
        return next >= RingStop ? next - (RingStop - RingStart) : next;
    }

    /// <summary>Takes every frame between BNRY+1 and CURR (read once) out of the ring. A frame
    /// arriving meanwhile sets ISR.PRX again, so OnInterrupt's next round comes back for it.</summary>
    private void DrainRing()
    {
        byte curr = ReadCurr();
        if (_p.Error != Err.Ok || curr is < RingStart or >= RingStop) return;
        int page = After(_bnry);
        for (int frames = 0; frames < RingStop - RingStart && page != curr; frames++)
        {
            // The ring header and the frame's first bytes in one burst: a frame starts on a
            // page of its own, so these bytes are its own whatever its length.
            DmaRead(page * PageSize, _frame.AsSpan(0, HeadBurst));
            if (_p.Error != Err.Ok) return;
            int next = _frame[1];
            int length = (_frame[2] | (_frame[3] << 8)) - RingHeader; // the count includes the header
            if (length < NetDriverCall.HeaderLength + Fcs || length > NetDriverCall.MaxFrame + Fcs || next != PageAfter(page, length))
            {
                // A corrupt header: give up on the frames in the ring.
                _driver!.Stats.RxErrors++;
                SetBoundary(Before(curr));
                return;
            }
            int end = RingHeader + length - Fcs;
            if (_driver!.CanTake) // a posted read or room in the receive queue: fetch it
            {
                if (end > HeadBurst)
                {
                    DmaRead(page * PageSize + HeadBurst, _frame.AsSpan(HeadBurst, end - HeadBurst));
                    if (_p.Error != Err.Ok) return;
                }
                _driver.Deliver(_frame.AsSpan(RingHeader, end - RingHeader));
            }
            else
            {
                _driver.Drop();
            }
            SetBoundary(Before(next));
            page = next;
        }
    }

    /// <summary>Queues the remote-DMA address and byte count; the CR command that starts the transfer comes after them.</summary>
    private void SetRemote(int address, int count)
    {
        _p.Out(Rsar0, (byte)address);
        _p.Out(Rsar1, (byte)(address >> 8));
        _p.Out(Rbcr0, (byte)count);
        _p.Out(Rbcr1, (byte)(count >> 8));
    }

    /// <summary>A remote read: the setup goes out with the burst; the completion (CR, ISR.RDC ack) is queued.</summary>
    private void DmaRead(int address, Span<byte> into)
    {
        int count = (into.Length + 1) & ~1;
        SetRemote(address, count);
        _p.Out(Cr, Page0 | RemoteRead | Start);
        _p.ReadData(into);
        _p.Out(Cr, Page0 | NoDma | Start);
        _p.Out(Isr, IsrRdc);
    }

    /// <summary>A remote write: the setup goes out with the burst; the completion (CR, ISR.RDC ack) is queued.</summary>
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
