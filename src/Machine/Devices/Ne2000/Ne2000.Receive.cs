// Reception: a frame from the backend (without FCS) is accepted when the chip is started, not
// in a loopback mode, at least 64 bytes long counting the 4-byte FCS (shorter only with
// RCR.AR), and its destination passes RCR: broadcast with AB, other multicast with AM and its
// MAR hash bit, unicast matching PAR0–5 or any unicast with PRO. In monitor mode (RCR.MON)
// an accepted frame is only counted as missed. Otherwise it is stored from CURR·256: the
// header [RSR, next page, count lo, count hi] — the datasheet's receive byte count, which
// counts the 4 header bytes, the frame and its FCS (computed and stored too) — then the data,
// page after page; the page after PSTOP−1 is PSTART, and the
// page after 0xFF is 0x00, so a CURR outside the ring walks memory the way the chip's page
// counter does (writes where no RAM is are lost). The chip compares every page it advances
// to, including the page after the frame that becomes CURR, with BNRY: a match means the ring
// is full, so CURR never catches up with BNRY (whichever convention the driver keeps BNRY in,
// "BNRY = CURR" stays unambiguous as "empty"). A full ring, or one with no pages (PSTART ≥
// PSTOP), drops the frame with ISR.OVW and counts it as missed in CNTR2.
namespace Bulkhead.Machine.Devices.Ne2000;

public sealed partial class Ne2000
{
    private static ReadOnlySpan<byte> Broadcast => [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            if ((_tcr & Ne2000Registers.TcrLoopbackMask) != 0) return;
            ReceiveUnsynchronized(frame);
        }
    }

    private void ReceiveUnsynchronized(ReadOnlySpan<byte> frame)
    {
        if (StoppedUnsynchronized || frame.Length < 6) return;
        int length = frame.Length + Ne2000Registers.FcsLength;
        if (length < Ne2000Registers.MinFrameWithFcs && (_rcr & Ne2000Registers.RcrAr) == 0) return;

        var destination = frame[..6];
        bool multicast = (destination[0] & 1) != 0;
        if (!AcceptsUnsynchronized(destination, multicast)) return;

        if ((_rcr & Ne2000Registers.RcrMon) != 0)
        {
            _rsr = Ne2000Registers.RsrMpa | Ne2000Registers.RsrDis;
            CountUnsynchronized(ref _cntr2);
            return;
        }

        if (!TryFindRoomUnsynchronized(length, out byte next))
        {
            _rsr = Ne2000Registers.RsrMpa;
            CountUnsynchronized(ref _cntr2);
            SetIsrUnsynchronized(Ne2000Registers.IsrOvw);
            return;
        }

        byte status = (byte)(Ne2000Registers.RsrPrx | (multicast ? Ne2000Registers.RsrPhy : 0));
        int page = _curr, offset = 0;
        void Put(byte value)
        {
            WriteMemoryUnsynchronized((page << 8) + offset, value);
            _clda = (ushort)((page << 8) + offset);
            _fifo = value;
            if (++offset == Ne2000Registers.PageSize)
            {
                offset = 0;
                page = NextPageUnsynchronized(page);
            }
        }

        Put(status);
        Put(next);
        int count = Ne2000Registers.HeaderLength + length;
        Put((byte)count);
        Put((byte)(count >> 8));
        foreach (byte b in frame) Put(b);
        uint fcs = EthernetCrc.Fcs(frame);
        for (int i = 0; i < Ne2000Registers.FcsLength; i++) Put((byte)(fcs >> (8 * i)));

        _curr = next;
        _rsr = status;
        SetIsrUnsynchronized(Ne2000Registers.IsrPrx);
    }

    private bool AcceptsUnsynchronized(ReadOnlySpan<byte> destination, bool multicast)
    {
        if (destination.SequenceEqual(Broadcast)) return (_rcr & Ne2000Registers.RcrAb) != 0;
        if (multicast)
        {
            if ((_rcr & Ne2000Registers.RcrAm) == 0) return false;
            int index = EthernetCrc.MulticastIndex(destination);
            return (_mar[index >> 3] & (1 << (index & 7))) != 0;
        }
        return (_rcr & Ne2000Registers.RcrPro) != 0 || destination.SequenceEqual(_par);
    }

    /// <summary>Whether a frame of <paramref name="length"/> bytes fits at CURR; <paramref name="next"/> is the page after it.</summary>
    private bool TryFindRoomUnsynchronized(int length, out byte next)
    {
        next = _curr;
        if (_pstart >= _pstop || length > 0xFFFF) return false;
        int pages = (Ne2000Registers.HeaderLength + length + Ne2000Registers.PageSize - 1) / Ne2000Registers.PageSize;
        int page = _curr;
        for (int i = 0; i < pages; i++)
        {
            page = NextPageUnsynchronized(page);
            if (page == _bnry) return false;
        }
        next = (byte)page;
        return true;
    }

    private int NextPageUnsynchronized(int page)
    {
        int next = (page + 1) & 0xFF;
        return next == _pstop ? _pstart : next;
    }

    private void CountUnsynchronized(ref byte counter)
    {
        if (counter < Ne2000Registers.CounterMax) counter++;
        if ((counter & 0x80) != 0) SetIsrUnsynchronized(Ne2000Registers.IsrCnt);
    }
}
