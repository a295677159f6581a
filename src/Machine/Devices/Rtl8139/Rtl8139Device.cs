// A register-level model of the Realtek RTL8139 Fast Ethernet controller: PCI function
// 10ec:8139 (class 0x020000) whose BAR0 is this 256-byte I/O window (IPortDevice), a
// bus-master that writes received frames into a ring and reads frames to transmit from four
// round-robin descriptors, both through its IDmaPort (the IOMMU). Interface: the constructor
// wires MAC, IRQ line, backend and DMA port; Config is the PCI configuration space the PCI bus
// exposes. Rules: registers follow the datasheet as QEMU's model reads it (Rtl8139Registers);
// every offset, size and value is accepted and nothing throws; the device neither decodes I/O
// while the command register's I/O-space bit is clear nor starts DMA without bus-master enable.
// The IRQ line is raised exactly while (ISR & IMR) != 0. Threads: ports come from the kernel
// thread and frames from the backend's thread; one lock guards all state. IIrqLine.Set is
// called with the lock held (it must not call back into the device); frames are handed to the
// backend after the lock is released, so two devices wired back to back cannot deadlock.
// Split: this file (state, register dispatch, reset, IRQ), .Receive.cs, .Transmit.cs.
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;
using Bulkhead.Machine.Pci;
using static Bulkhead.Machine.Devices.Rtl8139.Rtl8139Registers;

namespace Bulkhead.Machine.Devices.Rtl8139;

public sealed partial class Rtl8139Device : IPortDevice
{
    public const ushort VendorId = 0x10EC, DeviceId = 0x8139;
    public const uint ClassCode = 0x020000;
    public const int IoSize = 256;

    private readonly object _lock = new();
    private readonly IIrqLine _irq;
    private readonly INicBackend _backend;
    private readonly IDmaPort _dma;
    private readonly byte[] _romMac; // the "EEPROM" MAC, reloaded on reset and auto-load

    // All below guarded by _lock.
    private readonly byte[] _mac = new byte[6];
    private readonly byte[] _mar = new byte[8];
    private readonly uint[] _tsd = new uint[4];
    private readonly uint[] _tsad = new uint[4];
    private readonly List<byte[]> _outgoing = [];
    private uint _rbStart;
    private byte _cr;          // RE and TE only; BUFE is computed
    private int _rxRead;       // CAPR + 16: where the driver will read next (ring offset)
    private int _rxWrite;      // CBR: where the device writes next (ring offset)
    private ushort _imr, _isr;
    private uint _tcr, _rcr, _mpc;
    private byte _cfg9346, _config1, _config3, _config4;
    private ushort _mulInt;
    private int _txCurrent;
    private bool _txAborted;   // the datasheet's transmit abort state: left by TCR.CLRABT or reset
    private bool _irqLevel;

    public Rtl8139Device(byte[] mac, IIrqLine irq, INicBackend backend, IDmaPort dma)
    {
        ArgumentNullException.ThrowIfNull(mac);
        ArgumentNullException.ThrowIfNull(irq);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(dma);
        if (mac.Length != 6) throw new ArgumentException("a MAC address has 6 bytes", nameof(mac));
        _romMac = (byte[])mac.Clone();
        _irq = irq;
        _backend = backend;
        _dma = dma;
        Config = new PciConfigSpace(VendorId, DeviceId, ClassCode, revision: 0x10, ioBarSize: IoSize, interruptPin: 1);
        lock (_lock) ResetUnsynchronized();
        backend.Attach(Receive);
    }

    public string Name => "rtl8139";

    public PciConfigSpace Config { get; }

    /// <summary>Frames lost because the ring was full (the MPC register, 24 bits).</summary>
    public uint MissedPackets
    {
        get { lock (_lock) return _mpc; }
    }

    public uint Read(int offset, int size)
    {
        if (size is not (1 or 2 or 4)) return 0xFFFFFFFF;
        if (!Config.IoSpaceEnabled) return size == 4 ? 0xFFFFFFFF : (1u << (8 * size)) - 1;
        uint v = 0;
        lock (_lock)
        {
            for (int i = 0; i < size; i++)
            {
                int off = offset + i;
                uint b = 0xFF;
                if (off >= 0 && off < IoSize)
                {
                    var (start, _) = Locate(off);
                    b = (ReadRegisterUnsynchronized(start) >> (8 * (off - start))) & 0xFF;
                }
                v |= b << (8 * i);
            }
        }
        return v;
    }

    public void Write(int offset, int size, uint value)
    {
        if (size is not (1 or 2 or 4) || !Config.IoSpaceEnabled) return;
        List<byte[]>? send = null;
        lock (_lock)
        {
            int i = 0;
            while (i < size)
            {
                int off = offset + i;
                if (off < 0 || off >= IoSize) { i++; continue; }
                var (start, width) = Locate(off);
                uint merged = ReadRegisterUnsynchronized(start), mask = 0;
                for (; i < size && offset + i < start + width; i++)
                {
                    int shift = 8 * (offset + i - start);
                    uint b = (value >> (8 * i)) & 0xFF;
                    merged = (merged & ~(0xFFu << shift)) | (b << shift);
                    mask |= 0xFFu << shift;
                }
                WriteRegisterUnsynchronized(start, merged, mask);
            }
            UpdateIrqUnsynchronized();
            if (_outgoing.Count > 0)
            {
                send = [.. _outgoing];
                _outgoing.Clear();
            }
        }
        if (send != null)
            foreach (var frame in send) _backend.Send(frame);
    }

    /// <summary>The register containing byte <paramref name="off"/>: its first offset and width.</summary>
    private static (int Start, int Width) Locate(int off) => off switch
    {
        >= Tsd0 and < RbStart => (off & ~3, 4),
        >= RbStart and < Erbcr => (RbStart, 4),
        >= Erbcr and < Ersr => (Erbcr, 2),
        >= Capr and < Cbr => (Capr, 2),
        >= Cbr and < Imr => (Cbr, 2),
        >= Imr and < Isr => (Imr, 2),
        >= Isr and < Tcr => (Isr, 2),
        >= Tcr and < Rcr => (Tcr, 4),
        >= Rcr and < Tctr => (Rcr, 4),
        >= Tctr and < Mpc => (Tctr, 4),
        >= Mpc and < Cr9346 => (Mpc, 4),
        >= TimerInt and < Msr => (TimerInt, 4),
        >= MulInt and < RerId => (MulInt, 2),
        >= TsadAll and < 0x6C => (off & ~1, 2),
        _ => (off, 1),
    };

    private uint ReadRegisterUnsynchronized(int start) => start switch
    {
        < 6 => _mac[start],
        >= Mar0 and < Tsd0 => _mar[start - Mar0],
        >= Tsd0 and < Tsad0 => _tsd[(start - Tsd0) >> 2],
        >= Tsad0 and < RbStart => _tsad[(start - Tsad0) >> 2],
        RbStart => _rbStart,
        Cr => (uint)(_cr | (_rxRead == _rxWrite ? CrBufe : 0)),
        Capr => (ushort)(_rxRead - 16),
        Cbr => (ushort)_rxWrite,
        Imr => _imr,
        Isr => _isr,
        Tcr => _tcr,
        Rcr => _rcr,
        Mpc => _mpc,
        Cr9346 => _cfg9346,
        Config1 => _config1,
        Config3 => _config3,
        Config4 => _config4,
        MulInt => _mulInt,
        TsadAll => TransmitSummaryUnsynchronized(),
        Bmcr => 0x3100,   // 100 Mb/s, auto-negotiation on, full duplex
        Bmsr => 0x782D,   // 10/100 capable, negotiation complete, link up
        Anar => 0x01E1,
        Anlpar => 0x45E1,
        Aner => 0x0001,
        _ => 0,           // ERBCR, ERSR, TCTR, CONFIG0, MSR (link up, 100 Mb/s), unimplemented
    };

    private void WriteRegisterUnsynchronized(int start, uint merged, uint mask)
    {
        switch (start)
        {
            case < 6: _mac[start] = (byte)merged; break;
            case >= Mar0 and < Tsd0: _mar[start - Mar0] = (byte)merged; break;
            case >= Tsd0 and < Tsad0: WriteTsdUnsynchronized((start - Tsd0) >> 2, merged); break;
            case >= Tsad0 and < RbStart: _tsad[(start - Tsad0) >> 2] = merged; break;
            case RbStart: _rbStart = merged; break;
            case Cr: WriteCrUnsynchronized((byte)merged); break;
            case Capr: _rxRead = (int)((merged + 16) & 0xFFFF) % RingSize; break;
            case Imr: _imr = (ushort)(merged & IntAll); break;
            case Isr: _isr &= (ushort)~(merged & mask); break;
            case Tcr:
                _tcr = (_tcr & ~TcrWritable) | (merged & TcrWritable);
                if ((merged & mask & TcrClrAbt) != 0) ClearAbortUnsynchronized();
                break;
            case Rcr:
                _rcr = merged & RcrWritable;
                _rxRead %= RingSize;
                _rxWrite %= RingSize;
                break;
            case Mpc: _mpc = 0; break;
            case Cr9346: Write9346Unsynchronized((byte)merged); break;
            case Config1 or Config3 or Config4:
                if ((_cfg9346 & Eem9346Mask) != Eem9346ConfigWrite) break;
                // CONFIG1 bits 2–3 and CONFIG3 bits 0–3 and 7 are status bits the driver cannot change.
                if (start == Config1) _config1 = (byte)((_config1 & 0x0Cu) | (merged & ~0x0Cu));
                else if (start == Config3) _config3 = (byte)((_config3 & 0x8Fu) | (merged & ~0x8Fu));
                else _config4 = (byte)merged;
                break;
            case MulInt: _mulInt = (ushort)(merged & 0x0FFF); break;
            default: break; // read-only or unimplemented: dropped
        }
    }

    private void WriteCrUnsynchronized(byte value)
    {
        if ((value & CrRst) != 0)
        {
            ResetUnsynchronized(); // RST clears itself once the reset is done, i.e. at once
            return;
        }
        bool txWasOff = (_cr & CrTe) == 0;
        _cr = (byte)(value & (CrRe | CrTe));
        if ((_cr & CrTe) == 0) _txAborted = false;
        else if (txWasOff) TransmitPendingUnsynchronized();
    }

    private void Write9346Unsynchronized(byte value)
    {
        // EEDO (bit 0) is an input from the EEPROM, which is not modelled: it reads 0.
        if ((value & Eem9346Mask) == Eem9346AutoLoad)
        {
            _romMac.CopyTo(_mac, 0); // auto-load finishes at once and returns to normal mode
            _cfg9346 = (byte)(value & 0x0E);
            return;
        }
        _cfg9346 = (byte)(value & 0xCE);
    }

    /// <summary>The soft reset (CR.RST) and power-on state.</summary>
    private void ResetUnsynchronized()
    {
        _romMac.CopyTo(_mac, 0);
        Array.Clear(_mar);
        for (int i = 0; i < 4; i++)
        {
            _tsd[i] = TsdOwn;
            _tsad[i] = 0;
        }
        _outgoing.Clear();
        _rbStart = 0;
        _cr = 0;
        _rxRead = _rxWrite = 0;
        _imr = _isr = 0;
        _tcr = TcrHwVersion;
        _rcr = 0;
        _mpc = 0;
        _cfg9346 = 0;
        _txCurrent = 0;
        _txAborted = false;
        UpdateIrqUnsynchronized();
    }

    private int RingSize => 8192 << (int)((_rcr & RcrRblenMask) >> (int)RcrRblenShift);

    private void UpdateIrqUnsynchronized()
    {
        bool level = (_isr & _imr) != 0;
        if (level == _irqLevel) return;
        _irqLevel = level;
        _irq.Set(level);
    }
}
