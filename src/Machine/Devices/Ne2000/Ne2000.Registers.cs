// The DP8390 register file: CR on every page, page 0 (ring, transmit and remote-DMA setup
// when written; status and counters when read), page 1 (station address, CURR, multicast
// filter) and page 2 (the page-0 configuration read back). The DP8390 has no page 3; there
// reads give 0xFF and writes are lost. Writing CR may start a transmission, whose frame the
// caller sends after leaving the lock.
namespace Bulkhead.Machine.Devices.Ne2000;

public sealed partial class Ne2000
{
    private int PageUnsynchronized => _cr >> Dp8390.CrPageShift;

    private byte ReadRegisterUnsynchronized(int offset)
    {
        if (offset == 0) return _cr;
        return PageUnsynchronized switch
        {
            0 => ReadPage0Unsynchronized(offset),
            1 => ReadPage1Unsynchronized(offset),
            2 => ReadPage2Unsynchronized(offset),
            _ => 0xFF,
        };
    }

    private byte ReadPage0Unsynchronized(int offset)
    {
        switch (offset)
        {
            case Dp8390.Clda0: return (byte)_clda;
            case Dp8390.Clda1: return (byte)(_clda >> 8);
            case Dp8390.Bnry: return _bnry;
            case Dp8390.Tsr: return _tsr;
            case Dp8390.Ncr: return 0; // no collisions on a modelled wire
            case Dp8390.Fifo: return _fifo;
            case Dp8390.Isr: return _isr;
            case Dp8390.Crda0: return (byte)_rsar;
            case Dp8390.Crda1: return (byte)(_rsar >> 8);
            case Dp8390.Rsr: return _rsr;
            // The tally counters clear when read.
            case Dp8390.Cntr0: return TakeCounter(ref _cntr0);
            case Dp8390.Cntr1: return TakeCounter(ref _cntr1);
            case Dp8390.Cntr2: return TakeCounter(ref _cntr2);
            default: return 0xFF; // 0x0A, 0x0B: reserved on the DP8390
        }
    }

    private static byte TakeCounter(ref byte counter)
    {
        byte value = counter;
        counter = 0;
        return value;
    }

    private byte ReadPage1Unsynchronized(int offset) => offset switch
    {
        >= Dp8390.Par0 and < Dp8390.Par0 + 6 => _par[offset - Dp8390.Par0],
        Dp8390.Curr => _curr,
        _ => _mar[offset - Dp8390.Mar0],
    };

    private byte ReadPage2Unsynchronized(int offset) => offset switch
    {
        Dp8390.Pstart => _pstart,
        Dp8390.Pstop => _pstop,
        Dp8390.Rnpp => _bnry,
        Dp8390.Tpsr => _tpsr,
        Dp8390.Lnpp => _curr,
        Dp8390.AddressUpper => (byte)(_clda >> 8),
        Dp8390.AddressLower => (byte)_clda,
        Dp8390.Rcr => _rcr,
        Dp8390.Tcr => _tcr,
        Dp8390.Dcr => _dcr,
        Dp8390.Imr => _imr,
        _ => 0xFF,
    };

    /// <summary>Writes one register; returns a frame to send when the write started a transmission.</summary>
    private byte[]? WriteRegisterUnsynchronized(int offset, byte value)
    {
        if (offset == 0) return WriteCommandUnsynchronized(value);
        switch (PageUnsynchronized)
        {
            case 0: WritePage0Unsynchronized(offset, value); break;
            case 1: WritePage1Unsynchronized(offset, value); break;
            default: break; // page 2 holds internal pointers not meant to be written; no page 3
        }
        return null;
    }

    private byte[]? WriteCommandUnsynchronized(byte value)
    {
        // STOP wins over START; the TXP bit stays set while a transmission is in progress,
        // which here is never observable because transmission completes at once.
        byte previous = _cr;
        _cr = (byte)(value & ~Dp8390.CrTransmit);
        if ((value & Dp8390.CrStop) != 0)
        {
            _cr &= unchecked((byte)~Dp8390.CrStart);
            _isr |= Dp8390.IsrRst;
        }
        else if ((value & Dp8390.CrStart) != 0)
        {
            _isr &= unchecked((byte)~Dp8390.IsrRst);
        }
        else
        {
            // Neither bit: the chip keeps its running state.
            _cr |= (byte)(previous & (Dp8390.CrStop | Dp8390.CrStart));
        }

        StartRemoteDmaUnsynchronized(value & Dp8390.CrRemoteDmaMask);
        byte[]? frame = (value & Dp8390.CrTransmit) != 0 ? TransmitUnsynchronized() : null;
        UpdateIrqUnsynchronized();
        return frame;
    }

    private void WritePage0Unsynchronized(int offset, byte value)
    {
        switch (offset)
        {
            case Dp8390.Pstart: _pstart = value; break;
            case Dp8390.Pstop: _pstop = value; break;
            case Dp8390.Bnry: _bnry = value; break;
            case Dp8390.Tpsr: _tpsr = value; break;
            case Dp8390.Tbcr0: _tbcr = (ushort)((_tbcr & 0xFF00) | value); break;
            case Dp8390.Tbcr1: _tbcr = (ushort)((_tbcr & 0x00FF) | (value << 8)); break;
            case Dp8390.Isr:
                // Write 1 to clear; RST reflects the chip's state and is not cleared this way.
                _isr &= (byte)~(value & Dp8390.IsrInterruptMask);
                UpdateIrqUnsynchronized();
                break;
            case Dp8390.Rsar0: _rsar = (ushort)((_rsar & 0xFF00) | value); break;
            case Dp8390.Rsar1: _rsar = (ushort)((_rsar & 0x00FF) | (value << 8)); break;
            case Dp8390.Rbcr0: _rbcr = (ushort)((_rbcr & 0xFF00) | value); break;
            case Dp8390.Rbcr1: _rbcr = (ushort)((_rbcr & 0x00FF) | (value << 8)); break;
            case Dp8390.Rcr: _rcr = (byte)(value & 0x3F); break;
            case Dp8390.Tcr: _tcr = (byte)(value & 0x1F); break;
            case Dp8390.Dcr: _dcr = (byte)(value & 0x7F); break;
            case Dp8390.Imr:
                _imr = (byte)(value & Dp8390.IsrInterruptMask);
                UpdateIrqUnsynchronized();
                break;
            default: break;
        }
    }

    private void WritePage1Unsynchronized(int offset, byte value)
    {
        if (offset < Dp8390.Par0 + 6) _par[offset - Dp8390.Par0] = value;
        else if (offset == Dp8390.Curr) _curr = value;
        else _mar[offset - Dp8390.Mar0] = value;
    }
}
