// A register-level model of one IDE channel of a PC (primary or secondary: AtaChannel) with one
// ATA disk (the master; the slave is absent) behind an Intel PIIX3 IDE function (PCI
// 8086:7010, class 0x010180: legacy ports, bus-master capable). A real PIIX3 carries both
// channels in one function; here each channel is a function of its own (docs/machine.md "ATA
// disk"), which says which channel it carries as PIIX3 does: only that channel's IDE timing
// register (IDETIM, config 0x40 or 0x42) has its decode-enable bit set. Three port windows:
// the command block (8 ports, 0x1F0 or 0x170 on a PC), the control block (alternate status /
// device control, 0x3F6 or 0x376) and the bus-master block (BAR4, 16 ports; the channel's
// registers at +0 or +8); Config is the PCI configuration space. The disk is a host image.
//
// Interface: the constructor wires disk, IRQ line (14 or 15 in compatibility mode), DMA port
// and channel; the board registers CommandBlock at CommandBlockBase, ControlBlock at
// ControlBlockBase and BusMaster in the I/O space.
// Rules: registers follow ATA/ATAPI-6 and the Bus Master IDE programming interface
// (AtaRegisters; docs/machine.md "ATA registers"). Every offset, size and value is accepted
// and nothing throws: misprogramming gets the error bits the standard gives (ABRT, IDNF, the
// bus master's error bit) or is ignored as a drive ignores it. A command completes before the
// write that issued it returns (BSY is only seen while SRST is held or a DMA command waits for
// the bus master); writes to the task file while BSY, and commands while BSY or DRQ, are
// ignored. With the absent slave selected, every register but Device reads 0 and commands do
// nothing. The IRQ line is up while the drive's interrupt is pending and nIEN is clear;
// reading Status clears it, reading Alternate Status does not. The legacy ports decode
// regardless of the PCI command register (firmware enabled the channel); the bus-master block
// decodes only with I/O space enabled and DMA needs bus mastering. Threads: one lock guards all
// state; disk I/O and DMA happen under it (a transfer is at most 32 MiB); IIrqLine.Set is
// called with the lock held and must not call back. Split: this file (state, register
// dispatch, reset, IRQ), .Commands.cs (command decode, PIO), .BusMaster.cs (bus-master DMA).
using Bulkhead.Machine.Dma;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Pci;
using Bulkhead.Machine.Storage;
using static Bulkhead.Machine.Devices.Ata.AtaRegisters;

namespace Bulkhead.Machine.Devices.Ata;

public sealed partial class AtaController
{
    private readonly object _lock = new();
    private readonly DiskImage _disk;
    private readonly string _serial;
    private readonly IIrqLine _irq;
    private readonly IDmaPort _dma;
    private readonly int _bmBase; // this channel's registers in the bus-master block

    // All below guarded by _lock. The task file is shared by both devices on the channel; each
    // register keeps the value written before the last one ("previous", read back with HOB).
    private byte _features, _count, _lbaLow, _lbaMid, _lbaHigh;
    private byte _featuresPrev, _countPrev, _lbaLowPrev, _lbaMidPrev, _lbaHighPrev;
    private byte _device, _control, _status, _error;
    private bool _irqPending, _irqLevel;

    public AtaController(DiskImage disk, string serial, IIrqLine irq, IDmaPort dma, AtaChannel channel = AtaChannel.Primary)
    {
        ArgumentNullException.ThrowIfNull(disk);
        ArgumentNullException.ThrowIfNull(serial);
        ArgumentNullException.ThrowIfNull(irq);
        ArgumentNullException.ThrowIfNull(dma);
        _disk = disk;
        _serial = serial.Length > 20 ? serial[..20] : serial;
        _irq = irq;
        _dma = dma;
        if (channel is not (AtaChannel.Primary or AtaChannel.Secondary)) throw new ArgumentOutOfRangeException(nameof(channel));
        Channel = channel;
        _bmBase = BusMasterOffsetOf(channel);
        Config = new PciConfigSpace(PciVendorId, PciDeviceId, PciClassCode, revision: 0x00, ioBarSize: BusMasterLength,
            interruptPin: 1, ioBar: PciBusMasterBar);
        Config.SetDeviceRegister(IdeTimingOf(channel), 2, IdeTimingDecodeEnable); // firmware enabled this channel only
        CommandBlock = new Window("ata (command block)", ReadCommandBlock, WriteCommandBlock);
        ControlBlock = new Window("ata (control block)", ReadControlBlock, WriteControlBlock);
        BusMaster = new Window("ata (bus master)", ReadBusMaster, WriteBusMaster);
        lock (_lock)
        {
            _multiple = 0;
            _transferMode = (byte)(ModeUltraDma | 5); // as firmware leaves it
            _writeCache = true;
            (_heads, _sectorsPerTrack) = (AtaIdentify.DefaultHeads, AtaIdentify.DefaultSectorsPerTrack);
            ResetDriveUnsynchronized();
        }
    }

    public string Name => "ata";

    /// <summary>The channel this controller is: its legacy ports, IRQ and bus-master half.</summary>
    public AtaChannel Channel { get; }

    /// <summary>Where the board registers CommandBlock: 0x1F0 or 0x170.</summary>
    public int CommandBlockBase => CommandBlockOf(Channel);

    /// <summary>Where the board registers ControlBlock: 0x3F6 or 0x376.</summary>
    public int ControlBlockBase => ControlBlockOf(Channel);

    public PciConfigSpace Config { get; }

    /// <summary>The command block, 8 ports (data, error/features, count, LBA low/mid/high, device, status/command).</summary>
    public IPortDevice CommandBlock { get; }

    /// <summary>The control block, 1 port: alternate status (read), device control (write).</summary>
    public IPortDevice ControlBlock { get; }

    /// <summary>The bus-master IDE block that BAR4 maps, 16 ports (this channel's registers at 0–7 or 8–15).</summary>
    public IPortDevice BusMaster { get; }

    public long Sectors => _disk.Sectors;

    private bool SlaveSelected => (_device & DeviceSlave) != 0;

    private uint ReadCommandBlock(int offset, int size)
    {
        lock (_lock)
        {
            if (offset == Data && size is 2 or 4) return ReadDataUnsynchronized(size);
            // The other registers are 8 bits wide: a wider access reaches consecutive ports.
            uint v = 0;
            for (int i = 0; i < size; i++) v |= (uint)ReadRegisterUnsynchronized(offset + i) << (8 * i);
            return v;
        }
    }

    private void WriteCommandBlock(int offset, int size, uint value)
    {
        lock (_lock)
        {
            if (offset == Data && size is 2 or 4)
            {
                WriteDataUnsynchronized(size, value);
                return;
            }
            for (int i = 0; i < size; i++) WriteRegisterUnsynchronized(offset + i, (byte)(value >> (8 * i)));
        }
    }

    private byte ReadRegisterUnsynchronized(int offset)
    {
        if (offset is < Error or > Status) return 0xFF; // a byte access to the data port moves nothing
        if (offset == Device) return (byte)(_device | DeviceObsolete);
        if (SlaveSelected) return 0;
        bool hob = (_control & ControlHob) != 0;
        switch (offset)
        {
            case Error: return hob ? _featuresPrev : _error; // with HOB, the previous Features (as QEMU reads it)
            case SectorCount: return hob ? _countPrev : _count;
            case LbaLow: return hob ? _lbaLowPrev : _lbaLow;
            case LbaMid: return hob ? _lbaMidPrev : _lbaMid;
            case LbaHigh: return hob ? _lbaHighPrev : _lbaHigh;
            default:
                byte s = StatusUnsynchronized;
                _irqPending = false;
                UpdateIrqUnsynchronized();
                return s;
        }
    }

    private void WriteRegisterUnsynchronized(int offset, byte value)
    {
        if (offset is < Features or > Command) return;
        if (offset == Command)
        {
            _control &= unchecked((byte)~ControlHob);
            if (SlaveSelected || (StatusUnsynchronized & (StatusBsy | StatusDrq)) != 0) return;
            ExecuteUnsynchronized(value);
            return;
        }
        if ((StatusUnsynchronized & StatusBsy) != 0) return;
        _control &= unchecked((byte)~ControlHob); // a write to the command block clears HOB
        switch (offset)
        {
            case Features: (_featuresPrev, _features) = (_features, value); break;
            case SectorCount: (_countPrev, _count) = (_count, value); break;
            case LbaLow: (_lbaLowPrev, _lbaLow) = (_lbaLow, value); break;
            case LbaMid: (_lbaMidPrev, _lbaMid) = (_lbaMid, value); break;
            case LbaHigh: (_lbaHighPrev, _lbaHigh) = (_lbaHigh, value); break;
            default: _device = value; break;
        }
    }

    private uint ReadControlBlock(int offset, int size)
    {
        lock (_lock)
        {
            uint v = 0;
            for (int i = 0; i < size; i++) v |= (offset + i == 0 ? (SlaveSelected ? 0u : StatusUnsynchronized) : 0xFFu) << (8 * i);
            return v;
        }
    }

    private void WriteControlBlock(int offset, int size, uint value)
    {
        if (offset != 0 || size is not (1 or 2 or 4)) return;
        lock (_lock)
        {
            byte old = _control;
            _control = (byte)(value & (ControlNien | ControlSrst | ControlHob));
            if ((old & ControlSrst) == 0 && (_control & ControlSrst) != 0)
            {
                StopTransferUnsynchronized();
                _irqPending = false;
            }
            else if ((old & ControlSrst) != 0 && (_control & ControlSrst) == 0)
            {
                ResetDriveUnsynchronized();
            }
            UpdateIrqUnsynchronized();
        }
    }

    /// <summary>Status as the drive shows it: BSY throughout a soft reset.</summary>
    private byte StatusUnsynchronized => (_control & ControlSrst) != 0 ? StatusBsy : _status;

    /// <summary>The end of a soft reset (and power-on): the ATA signature in the task file,
    /// diagnostics passed, ready. Settings (multiple count, transfer mode, write cache, CHS
    /// translation) are kept, as the standard says for a soft reset.</summary>
    private void ResetDriveUnsynchronized()
    {
        StopTransferUnsynchronized();
        (_count, _lbaLow, _lbaMid, _lbaHigh) = (SignatureCount, SignatureLbaLow, SignatureLbaMid, SignatureLbaHigh);
        _device = 0;
        _error = DiagnosticPassed;
        _status = StatusIdle;
        _irqPending = false;
    }

    private void RaiseIrqUnsynchronized()
    {
        _irqPending = true;
        UpdateIrqUnsynchronized();
    }

    private void UpdateIrqUnsynchronized()
    {
        bool level = _irqPending && (_control & ControlNien) == 0;
        if (level == _irqLevel) return;
        _irqLevel = level;
        if (level) _bmStatus |= BmStatusInterrupt; // the bus master latches the drive's INTRQ
        _irq.Set(level);
    }

    /// <summary>One port window of the controller as the I/O space sees it.</summary>
    private sealed class Window(string name, Func<int, int, uint> read, Action<int, int, uint> write) : IPortDevice
    {
        public string Name => name;

        public uint Read(int offset, int size) => size is 1 or 2 or 4 ? read(offset, size) : 0xFFFF_FFFF;

        public void Write(int offset, int size, uint value)
        {
            if (size is 1 or 2 or 4) write(offset, size, value);
        }
    }
}
