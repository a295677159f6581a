// Transmit path of the RTL8139 model: four descriptors (TSAD0–3 buffer address, TSD0–3 size
// and status) used round robin. Writing a TSD with OWN clear hands the descriptor to the
// device; while CR.TE is set the device takes descriptors in order from the current one,
// reads SIZE bytes by bus-master DMA from TSAD, sets OWN and TOK in the TSD and ISR.TOK, and
// the frame goes to the backend once the register lock is released. Writing a TSD clears the
// previous status bits. Rules: SIZE 0 or above 1792, bus mastering disabled, or a DMA refused
// by the IOMMU abort the descriptor — TSD.TABT and ISR.TER (plus ISR.SERR and the PCI
// received-target-abort bit for a refused DMA), nothing is sent — and put the transmitter in
// the datasheet's abort state: it stays on that descriptor until TCR.CLRABT retries it, or
// until TE is cleared or the chip reset.
using static Bulkhead.Machine.Devices.Rtl8139.Rtl8139Registers;

namespace Bulkhead.Machine.Devices.Rtl8139;

public sealed partial class Rtl8139Device
{
    private void WriteTsdUnsynchronized(int n, uint value)
    {
        _tsd[n] = value & (TsdSizeMask | TsdOwn | TsdErtxthMask);
        if ((value & TsdOwn) == 0) TransmitPendingUnsynchronized();
    }

    private void TransmitPendingUnsynchronized()
    {
        while (!_txAborted && (_cr & CrTe) != 0)
        {
            int d = _txCurrent;
            uint tsd = _tsd[d];
            if ((tsd & TsdOwn) != 0) return;
            int size = (int)(tsd & TsdSizeMask);
            if (size == 0 || size > MaxTxSize || !Config.BusMasterEnabled)
            {
                AbortUnsynchronized(d, busError: false);
                return;
            }
            var frame = new byte[size];
            if (!_dma.Read(_tsad[d], frame))
            {
                AbortUnsynchronized(d, busError: true);
                return;
            }
            _outgoing.Add(frame);
            _tsd[d] |= TsdOwn | TsdTok;
            _isr |= IntTok;
            _txCurrent = (d + 1) & 3;
        }
    }

    private void AbortUnsynchronized(int d, bool busError)
    {
        _tsd[d] |= TsdTabt;
        _isr |= IntTer;
        if (busError)
        {
            _isr |= IntSerr;
            Config.SetStatus(Pci.PciConfigSpace.StatusReceivedTargetAbort);
        }
        _txAborted = true;
    }

    private void ClearAbortUnsynchronized()
    {
        if (!_txAborted) return;
        _txAborted = false;
        _tsd[_txCurrent] &= ~TsdTabt;
        TransmitPendingUnsynchronized();
    }

    /// <summary>The TSAD register at 0x60: TOK 15–12, TUN 11–8, TABT 7–4, OWN 3–0, one bit per descriptor.</summary>
    private uint TransmitSummaryUnsynchronized()
    {
        uint v = 0;
        for (int i = 0; i < 4; i++)
        {
            if ((_tsd[i] & TsdTok) != 0) v |= 1u << (12 + i);
            if ((_tsd[i] & TsdTun) != 0) v |= 1u << (8 + i);
            if ((_tsd[i] & TsdTabt) != 0) v |= 1u << (4 + i);
            if ((_tsd[i] & TsdOwn) != 0) v |= 1u << i;
        }
        return v;
    }
}
