// An NE2000 ISA network card: a DP8390 (the "8390 NIC") with 32 KiB of on-board buffer memory
// and a 32-byte address PROM, modelled at register level. It occupies 32 ports: 0x00–0x0F are
// the DP8390 registers in four pages chosen by CR bits 6–7, 0x10 is the remote-DMA data port
// (Ne2000.ProgrammedIo.cs), and reading 0x1F resets the chip. Registers are in
// Ne2000.Registers.cs; frames go out through an INicBackend (Ne2000.Transmit.cs) and come in
// from the backend's thread (Ne2000.Receive.cs).
//
// Rules: every register access and every received frame runs under _lock, so the chip's state
// is only ever seen whole. Any offset, size and value is accepted: misprogramming gives what the
// datasheet's logic gives (stray addresses read 0xFF, writes to nowhere are lost), never an
// exception. The interrupt line is driven level-style, only when its level changes, and only
// from UpdateIrqUnsynchronized. Backend sends happen outside the lock so that two cards wired
// back to back cannot deadlock.
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;

namespace Bulkhead.Machine.Devices.Ne2000;

public sealed partial class Ne2000 : IPortDevice
{
    private readonly object _lock = new();
    private readonly IIrqLine _irq;
    private readonly INicBackend _backend;

    // All fields below are guarded by _lock.
    private readonly byte[] _prom = new byte[Ne2000Registers.PromSize];
    private readonly byte[] _ram = new byte[Ne2000Registers.RamSize];
    private readonly byte[] _par = new byte[6];
    private readonly byte[] _mar = new byte[8];
    private byte _cr, _isr, _imr, _rcr, _tcr, _dcr, _tsr, _rsr, _fifo;
    private byte _pstart, _pstop, _bnry, _curr, _tpsr;
    private ushort _tbcr, _rsar, _rbcr, _clda;
    private byte _cntr0, _cntr1, _cntr2;
    private bool _irqAsserted;

    public Ne2000(byte[] mac, IIrqLine irq, INicBackend backend)
    {
        ArgumentNullException.ThrowIfNull(mac);
        ArgumentNullException.ThrowIfNull(irq);
        ArgumentNullException.ThrowIfNull(backend);
        if (mac.Length != 6) throw new ArgumentException("a MAC address is 6 bytes", nameof(mac));
        _irq = irq;
        _backend = backend;
        // The PROM as NE2000 clones program it: each MAC byte twice (the card is wired for
        // word reads), zeros, and the 'W' 'W' signature at the end.
        for (int i = 0; i < 6; i++)
        {
            _prom[2 * i] = mac[i];
            _prom[2 * i + 1] = mac[i];
        }
        for (int i = 0x1C; i < 0x20; i++) _prom[i] = 0x57;
        lock (_lock) ResetUnsynchronized();
        _backend.Attach(OnFrame);
    }

    public string Name => "ne2000";

    public uint Read(int offset, int size)
    {
        lock (_lock)
        {
            // Only the data port is 16 bits wide; the ISA bus splits a wider access to any
            // other port into byte accesses at consecutive ports.
            if (offset == Ne2000Registers.DataPort) return ReadDataPortUnsynchronized(size);
            uint value = 0;
            for (int i = 0; i < Math.Max(1, size); i++) value |= ReadByteUnsynchronized(offset + i) << (8 * i);
            return value;
        }
    }

    public void Write(int offset, int size, uint value)
    {
        byte[]? toSend = null;
        lock (_lock)
        {
            if (offset == Ne2000Registers.DataPort)
            {
                WriteDataPortUnsynchronized(size, value);
                return;
            }
            for (int i = 0; i < Math.Max(1, size); i++)
                toSend = WriteByteUnsynchronized(offset + i, (byte)(value >> (8 * i))) ?? toSend;
        }
        if (toSend is not null) _backend.Send(toSend);
    }

    private uint ReadByteUnsynchronized(int offset)
    {
        switch (offset)
        {
            case Ne2000Registers.DataPort:
                return ReadDataPortUnsynchronized(1);
            case Ne2000Registers.ResetPort:
                ResetUnsynchronized();
                UpdateIrqUnsynchronized();
                return 0;
            case >= 0 and < Ne2000Registers.DataPort:
                return ReadRegisterUnsynchronized(offset);
            default:
                return 0xFF;
        }
    }

    /// <summary>One byte written to one port; returns a frame to send if the write started a transmission.</summary>
    private byte[]? WriteByteUnsynchronized(int offset, byte value)
    {
        switch (offset)
        {
            case Ne2000Registers.DataPort:
                WriteDataPortUnsynchronized(1, value);
                return null;
            case >= 0 and < Ne2000Registers.DataPort:
                return WriteRegisterUnsynchronized(offset, value);
            default:
                // Writing the reset port ends the reset pulse on a real card: nothing to do.
                return null;
        }
    }

    /// <summary>The chip's reset state: stopped, no remote DMA, interrupts masked, ISR.RST.</summary>
    private void ResetUnsynchronized()
    {
        _cr = Ne2000Registers.CrStop | 0x20;
        _isr = Ne2000Registers.IsrRst;
        _imr = 0;
        _tsr = 0;
        _rsr = 0;
        _rbcr = 0;
    }

    private bool StoppedUnsynchronized => (_cr & Ne2000Registers.CrStop) != 0 || (_cr & Ne2000Registers.CrStart) == 0;

    private void SetIsrUnsynchronized(byte bits)
    {
        _isr |= bits;
        UpdateIrqUnsynchronized();
    }

    private void UpdateIrqUnsynchronized()
    {
        bool level = (_isr & _imr & Ne2000Registers.IsrInterruptMask) != 0;
        if (level == _irqAsserted) return;
        _irqAsserted = level;
        _irq.Set(level);
    }
}
