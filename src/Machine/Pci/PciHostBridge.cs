// The host bridge's configuration ports: PC configuration mechanism #1 over a PciBus, the way
// the trusted PCI-bus driver (and firmware before it) reaches every function's configuration
// space. Interface: an IPortDevice of PortCount ports (Board registers it at 0xCF8).
// CONFIG_ADDRESS is at offset 0 and only a 32-bit access there reaches it: bit 31 enables, bus
// in 23:16, device 15:11, function 10:8, register 7:2; it reads back what was written with
// bits 30:24 and 1:0 as zero. CONFIG_DATA is offsets 4–7: a 1-, 2- or 4-byte access at 4 + k
// reaches configuration register (CONFIG_ADDRESS & 0xFC) + k of the addressed function.
// Rules: with the enable bit clear, data reads return all ones and writes are dropped; every
// other access (byte or word at 0–3, an access running past offset 7, a bad size or offset)
// reads all ones and is dropped; nothing throws. A missing function reads all ones (PciBus).
// Thread-safe: the lock guards CONFIG_ADDRESS only; a data access uses one snapshot of it.
using Bulkhead.Machine.Io;

namespace Bulkhead.Machine.Pci;

public sealed class PciHostBridge : IPortDevice
{
    public const int PortCount = 8;
    public const int AddressOffset = 0, DataOffset = 4;
    public const uint EnableBit = 0x8000_0000;

    private const uint AddressWritable = 0x80FF_FFFC; // bits 30:24 reserved, 1:0 hardwired

    private readonly object _lock = new();
    private readonly PciBus _bus;
    private uint _address; // CONFIG_ADDRESS; guarded by _lock

    public PciHostBridge(PciBus bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        _bus = bus;
    }

    public string Name => "pci-host-bridge";

    public uint Read(int offset, int size)
    {
        if (offset == AddressOffset && size == 4)
        {
            lock (_lock) return _address;
        }
        if (!DataAccess(offset, size, out var function, out int register)) return 0xFFFF_FFFF;
        return _bus.Read(function, register, size);
    }

    public void Write(int offset, int size, uint value)
    {
        if (offset == AddressOffset && size == 4)
        {
            lock (_lock) _address = value & AddressWritable;
            return;
        }
        if (DataAccess(offset, size, out var function, out int register)) _bus.Write(function, register, size, value);
    }

    /// <summary>Decodes a CONFIG_DATA access: false if it is not one or the enable bit is clear.</summary>
    private bool DataAccess(int offset, int size, out PciAddress function, out int register)
    {
        function = default;
        register = 0;
        if (size is not (1 or 2 or 4) || offset < DataOffset || offset > PortCount - size) return false;
        uint a;
        lock (_lock) a = _address;
        if ((a & EnableBit) == 0) return false;
        function = new PciAddress((byte)(a >> 16), (byte)((a >> 11) & 0x1F), (byte)((a >> 8) & 0x7));
        register = (int)(a & 0xFC) + (offset - DataOffset);
        return true;
    }
}
