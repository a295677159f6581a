// The machine's PCI buses: functions attached at a bus/device/function address, and
// configuration reads and writes by (address, offset, size) as the trusted PCI-bus driver
// issues them. Interface: Attach, Find, Read, Write, Enumerate. Rules: an access to an
// address with no function reads all ones (vendor 0xFFFF = nothing there) and drops writes;
// Enumerate scans like firmware does — function 0 of every device, the other functions only
// when function 0's header says multi-function. The table is bounded by maxFunctions.
namespace Bulkhead.Machine.Pci;

public sealed class PciBus
{
    private readonly object _lock = new();
    private readonly int _maxFunctions;
    private readonly SortedDictionary<ushort, PciConfigSpace> _functions = []; // by RequesterId; guarded by _lock

    public PciBus(int maxFunctions = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFunctions);
        _maxFunctions = maxFunctions;
    }

    /// <summary>Plugs <paramref name="config"/> in at <paramref name="address"/>; false if the
    /// address is invalid or taken, or the table is full.</summary>
    public bool Attach(PciAddress address, PciConfigSpace config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!address.IsValid) return false;
        lock (_lock)
        {
            if (_functions.Count >= _maxFunctions || _functions.ContainsKey(address.RequesterId)) return false;
            _functions.Add(address.RequesterId, config);
            return true;
        }
    }

    public PciConfigSpace? Find(PciAddress address)
    {
        if (!address.IsValid) return null;
        lock (_lock) return _functions.TryGetValue(address.RequesterId, out var c) ? c : null;
    }

    public uint Read(PciAddress address, int offset, int size)
    {
        var c = Find(address);
        return c == null ? 0xFFFFFFFF : c.Read(offset, size);
    }

    public void Write(PciAddress address, int offset, int size, uint value) =>
        Find(address)?.Write(offset, size, value);

    /// <summary>The functions a configuration-space scan of every bus finds, in address order.</summary>
    public IReadOnlyList<PciAddress> Enumerate()
    {
        var found = new List<PciAddress>();
        for (int bus = 0; bus < 256; bus++)
        {
            for (byte dev = 0; dev < 32; dev++)
            {
                var f0 = new PciAddress((byte)bus, dev, 0);
                if ((ushort)Read(f0, PciConfigSpace.VendorIdOffset, 2) == 0xFFFF) continue;
                found.Add(f0);
                if ((Read(f0, PciConfigSpace.HeaderTypeOffset, 1) & 0x80) == 0) continue;
                for (byte fn = 1; fn < 8; fn++)
                {
                    var a = new PciAddress((byte)bus, dev, fn);
                    if ((ushort)Read(a, PciConfigSpace.VendorIdOffset, 2) != 0xFFFF) found.Add(a);
                }
            }
        }
        return found;
    }
}
