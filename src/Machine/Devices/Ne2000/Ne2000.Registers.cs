// The DP8390 register file: CR on every page, page 0 (ring, transmit and remote-DMA setup
// when written; status and counters when read), page 1 (station address, CURR, multicast
// filter) and page 2 (the page-0 configuration read back). The DP8390 has no page 3; there
// reads give 0xFF and writes are lost. Writing CR may start a transmission, whose frame the
// caller sends after leaving the lock.
namespace Bulkhead.Machine.Devices.Ne2000;

public sealed partial class Ne2000
{
    private int PageUnsynchronized => _cr >> Ne2000Registers.CrPageShift;

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
            case Ne2000Registers.Clda0: return (byte)_clda;
            case Ne2000Registers.Clda1: return (byte)(_clda >> 8);
            case Ne2000Registers.Bnry: return _bnry;
            case Ne2000Registers.Tsr: return _tsr;
            case Ne2000Registers.Ncr: return 0; // no collisions on a modelled wire
            case Ne2000Registers.Fifo: return _fifo;
            case Ne2000Registers.Isr: return _isr;
            case Ne2000Registers.Crda0: return (byte)_rsar;
            case Ne2000Registers.Crda1: return (byte)(_rsar >> 8);
            case Ne2000Registers.Rsr: return _rsr;
            // The tally counters clear when read.
            case Ne2000Registers.Cntr0: return TakeCounter(ref _cntr0);
            case Ne2000Registers.Cntr1: return TakeCounter(ref _cntr1);
            case Ne2000Registers.Cntr2: return TakeCounter(ref _cntr2);
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
        >= Ne2000Registers.Par0 and < Ne2000Registers.Par0 + 6 => _par[offset - Ne2000Registers.Par0],
        Ne2000Registers.Curr => _curr,
        _ => _mar[offset - Ne2000Registers.Mar0],
    };

    private byte ReadPage2Unsynchronized(int offset) => offset switch
    {
        Ne2000Registers.Pstart => _pstart,
        Ne2000Registers.Pstop => _pstop,
        Ne2000Registers.Rnpp => _bnry,
        Ne2000Registers.Tpsr => _tpsr,
        Ne2000Registers.Lnpp => _curr,
        Ne2000Registers.AddressUpper => (byte)(_clda >> 8),
        Ne2000Registers.AddressLower => (byte)_clda,
        Ne2000Registers.Rcr => _rcr,
        Ne2000Registers.Tcr => _tcr,
        Ne2000Registers.Dcr => _dcr,
        Ne2000Registers.Imr => _imr,
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
        _cr = (byte)(value & ~Ne2000Registers.CrTransmit);
        if ((value & Ne2000Registers.CrStop) != 0)
        {
            _cr &= unchecked((byte)~Ne2000Registers.CrStart);
            _isr |= Ne2000Registers.IsrRst;
        }
        else if ((value & Ne2000Registers.CrStart) != 0)
        {
            _isr &= unchecked((byte)~Ne2000Registers.IsrRst);
        }
        else
        {
            // Neither bit: the chip keeps its running state.
            _cr |= (byte)(previous & (Ne2000Registers.CrStop | Ne2000Registers.CrStart));
        }

        StartRemoteDmaUnsynchronized(value & Ne2000Registers.CrRemoteDmaMask);
        byte[]? frame = (value & Ne2000Registers.CrTransmit) != 0 ? TransmitUnsynchronized() : null;
        UpdateIrqUnsynchronized();
        return frame;
    }

    private void WritePage0Unsynchronized(int offset, byte value)
    {
        switch (offset)
        {
            case Ne2000Registers.Pstart: _pstart = value; break;
            case Ne2000Registers.Pstop: _pstop = value; break;
            case Ne2000Registers.Bnry: _bnry = value; break;
            case Ne2000Registers.Tpsr: _tpsr = value; break;
            case Ne2000Registers.Tbcr0: _tbcr = (ushort)((_tbcr & 0xFF00) | value); break;
            case Ne2000Registers.Tbcr1: _tbcr = (ushort)((_tbcr & 0x00FF) | (value << 8)); break;
            case Ne2000Registers.Isr:
                // Write 1 to clear; RST reflects the chip's state and is not cleared this way.
                _isr &= (byte)~(value & Ne2000Registers.IsrInterruptMask);
                UpdateIrqUnsynchronized();
                break;
            case Ne2000Registers.Rsar0: _rsar = (ushort)((_rsar & 0xFF00) | value); break;
            case Ne2000Registers.Rsar1: _rsar = (ushort)((_rsar & 0x00FF) | (value << 8)); break;
            case Ne2000Registers.Rbcr0: _rbcr = (ushort)((_rbcr & 0xFF00) | value); break;
            case Ne2000Registers.Rbcr1: _rbcr = (ushort)((_rbcr & 0x00FF) | (value << 8)); break;
            case Ne2000Registers.Rcr: _rcr = (byte)(value & 0x3F); break;
            case Ne2000Registers.Tcr: _tcr = (byte)(value & 0x1F); break;
            case Ne2000Registers.Dcr: _dcr = (byte)(value & 0x7F); break;
            case Ne2000Registers.Imr:
                _imr = (byte)(value & Ne2000Registers.IsrInterruptMask);
                UpdateIrqUnsynchronized();
                break;
            default: break;
        }
    }

    private void WritePage1Unsynchronized(int offset, byte value)
    {
        if (offset < Ne2000Registers.Par0 + 6) _par[offset - Ne2000Registers.Par0] = value;
        else if (offset == Ne2000Registers.Curr) _curr = value;
        else _mar[offset - Ne2000Registers.Mar0] = value;
    }
}
