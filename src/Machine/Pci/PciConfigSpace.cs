// The 256-byte configuration space of one PCI function with a type-0 header: vendor and
// device id, command, status, revision and class code, one I/O BAR (BAR0 for most functions;
// a PCI IDE controller in compatibility mode has only BAR4, its bus-master block), interrupt
// line and pin. Interface: Read/Write(offset, size) as the PCI-bus driver issues them, and typed
// properties the device model consults (BusMasterEnabled, IoSpaceEnabled, IoBase). Rules:
// every byte has a writable mask and a write-1-to-clear mask, so read-only fields ignore
// writes and the I/O BAR's low bits stay zero — writing all ones to it reads back the size mask
// (size probing); the other BARs read 0 (not implemented); device-specific registers (0x40 up)
// read 0 unless the model set them (SetDeviceRegister), and are read-only. Out-of-range
// accesses read as all ones and drop writes; nothing throws.
// Only I/O space, bus master, SERR# and INTx-disable command bits are implemented; a device
// must not start DMA while bus mastering is disabled. Thread-safe.
namespace Bulkhead.Machine.Pci;

public sealed class PciConfigSpace
{
    public const int Size = 256;

    // Register offsets.
    public const int VendorIdOffset = 0x00, DeviceIdOffset = 0x02, CommandOffset = 0x04, StatusOffset = 0x06;
    public const int RevisionOffset = 0x08, ClassCodeOffset = 0x09, HeaderTypeOffset = 0x0E;
    public const int Bar0Offset = 0x10, BarCount = 6, InterruptLineOffset = 0x3C, InterruptPinOffset = 0x3D;
    public const int DeviceSpecificOffset = 0x40;

    // Command bits.
    public const ushort CommandIoSpace = 0x0001, CommandBusMaster = 0x0004, CommandSerr = 0x0100, CommandIntxDisable = 0x0400;

    // Status bits (the error bits are write-1-to-clear).
    public const ushort StatusSignaledTargetAbort = 0x0800, StatusReceivedTargetAbort = 0x1000,
        StatusReceivedMasterAbort = 0x2000, StatusSignaledSystemError = 0x4000, StatusDetectedParityError = 0x8000;

    private readonly object _lock = new();
    private readonly byte[] _data = new byte[Size];     // guarded by _lock
    private readonly byte[] _writable = new byte[Size]; // immutable after construction
    private readonly byte[] _clearable = new byte[Size];
    private readonly int _ioBarSize;
    private readonly int _ioBarOffset;

    /// <param name="ioBarSize">size of the I/O BAR's window, a power of two from 4 to 256; 0 for none</param>
    /// <param name="interruptPin">1–4 for INTA#–INTD#, 0 for none</param>
    /// <param name="ioBar">which BAR (0–5) is the I/O BAR</param>
    public PciConfigSpace(ushort vendorId, ushort deviceId, uint classCode, byte revision, int ioBarSize,
        byte interruptPin, bool multiFunction = false, int ioBar = 0)
    {
        if (ioBarSize != 0 && (ioBarSize < 4 || ioBarSize > 256 || (ioBarSize & (ioBarSize - 1)) != 0))
            throw new ArgumentOutOfRangeException(nameof(ioBarSize));
        if (interruptPin > 4) throw new ArgumentOutOfRangeException(nameof(interruptPin));
        if (ioBar is < 0 or >= BarCount) throw new ArgumentOutOfRangeException(nameof(ioBar));
        _ioBarSize = ioBarSize;
        _ioBarOffset = Bar0Offset + 4 * ioBar;
        Put(VendorIdOffset, 2, vendorId);
        Put(DeviceIdOffset, 2, deviceId);
        Put(StatusOffset, 2, 0x0200); // DEVSEL# medium timing
        _data[RevisionOffset] = revision;
        Put(ClassCodeOffset, 3, classCode & 0xFFFFFF);
        _data[HeaderTypeOffset] = (byte)(multiFunction ? 0x80 : 0x00);
        _data[InterruptPinOffset] = interruptPin;

        const ushort cmdMask = CommandIoSpace | CommandBusMaster | CommandSerr | CommandIntxDisable;
        PutMask(_writable, CommandOffset, 2, cmdMask);
        PutMask(_clearable, StatusOffset, 2, StatusSignaledTargetAbort | StatusReceivedTargetAbort
            | StatusReceivedMasterAbort | StatusSignaledSystemError | StatusDetectedParityError);
        _writable[0x0C] = 0xFF; // cache line size
        _writable[0x0D] = 0xFF; // latency timer
        if (ioBarSize != 0)
        {
            _data[_ioBarOffset] = 0x01; // I/O space indicator
            PutMask(_writable, _ioBarOffset, 4, ~(uint)(ioBarSize - 1) & 0xFFFFFFFC);
        }
        if (interruptPin != 0) _writable[InterruptLineOffset] = 0xFF;
    }

    public ushort VendorId => (ushort)Get(VendorIdOffset, 2);
    public ushort DeviceId => (ushort)Get(DeviceIdOffset, 2);
    public uint ClassCode => Get(ClassCodeOffset, 3);
    public int IoBarSize => _ioBarSize;
    /// <summary>Configuration offset of the I/O BAR (0x10 for BAR0, 0x20 for BAR4).</summary>
    public int IoBarOffset => _ioBarOffset;
    public ushort Command => (ushort)Get(CommandOffset, 2);
    public ushort Status => (ushort)Get(StatusOffset, 2);
    public bool IoSpaceEnabled => (Command & CommandIoSpace) != 0;
    public bool BusMasterEnabled => (Command & CommandBusMaster) != 0;
    public bool InterruptsDisabled => (Command & CommandIntxDisable) != 0;
    public bool MultiFunction => (Get(HeaderTypeOffset, 1) & 0x80) != 0;

    /// <summary>The I/O base the I/O BAR was programmed with (0 if none).</summary>
    public uint IoBase => _ioBarSize == 0 ? 0 : Get(_ioBarOffset, 4) & 0xFFFFFFFC;

    public byte InterruptLine => (byte)Get(InterruptLineOffset, 1);

    /// <summary>Reads <paramref name="size"/> (1, 2 or 4) bytes, little-endian; all ones if out of range.</summary>
    public uint Read(int offset, int size)
    {
        if (!Valid(offset, size)) return 0xFFFFFFFF;
        return Get(offset, size);
    }

    /// <summary>Writes <paramref name="size"/> (1, 2 or 4) bytes, honouring the read-only and
    /// write-1-to-clear masks; dropped if out of range.</summary>
    public void Write(int offset, int size, uint value)
    {
        if (!Valid(offset, size)) return;
        lock (_lock)
        {
            for (int i = 0; i < size; i++)
            {
                int o = offset + i;
                byte v = (byte)(value >> (8 * i));
                byte b = (byte)((_data[o] & ~_writable[o]) | (v & _writable[o]));
                b &= (byte)~(v & _clearable[o]);
                _data[o] = b;
            }
        }
    }

    /// <summary>Sets a device-specific register (offset 0x40 and above) as firmware left it, e.g.
    /// PIIX3's IDE timing; read-only from the bus (writes to it are dropped).</summary>
    public void SetDeviceRegister(int offset, int size, uint value)
    {
        if (!Valid(offset, size) || offset < DeviceSpecificOffset) throw new ArgumentOutOfRangeException(nameof(offset));
        Put(offset, size, value);
    }

    /// <summary>Sets status bits on the device's behalf (e.g. a bus master seeing its transfer aborted).</summary>
    public void SetStatus(ushort bits)
    {
        lock (_lock)
        {
            uint s = GetUnsynchronized(StatusOffset, 2) | bits;
            PutUnsynchronized(StatusOffset, 2, s);
        }
    }

    private static bool Valid(int offset, int size) =>
        (size == 1 || size == 2 || size == 4) && offset >= 0 && offset <= Size - size;

    private uint Get(int offset, int size)
    {
        lock (_lock) return GetUnsynchronized(offset, size);
    }

    private void Put(int offset, int size, uint value)
    {
        lock (_lock) PutUnsynchronized(offset, size, value);
    }

    private uint GetUnsynchronized(int offset, int size)
    {
        uint v = 0;
        for (int i = 0; i < size; i++) v |= (uint)_data[offset + i] << (8 * i);
        return v;
    }

    private void PutUnsynchronized(int offset, int size, uint value)
    {
        for (int i = 0; i < size; i++) _data[offset + i] = (byte)(value >> (8 * i));
    }

    private static void PutMask(byte[] mask, int offset, int size, uint value)
    {
        for (int i = 0; i < size; i++) mask[offset + i] = (byte)(value >> (8 * i));
    }
}
