// The machine's 64 KiB I/O port space: non-overlapping ranges, each owned by one device.
// The kernel's DEVIO/VDEVIO check the caller's privileges first and then come here; an access
// to a port no device owns reads as all ones and writes are dropped, as on a PC's ISA bus.
namespace Bulkhead.Machine.Io;

public sealed class IoSpace
{
    private readonly object _lock = new();
    private readonly List<(int Base, int Length, IPortDevice Device)> _ranges = [];

    /// <summary>Claims [base, base+length) for <paramref name="device"/>; false if it overlaps a claimed range.</summary>
    public bool Register(int @base, int length, IPortDevice device)
    {
        if (@base < 0 || length <= 0 || @base + length > 0x10000) return false;
        lock (_lock)
        {
            foreach (var r in _ranges)
                if (@base < r.Base + r.Length && r.Base < @base + length) return false;
            _ranges.Add((@base, length, device));
            return true;
        }
    }

    /// <summary>The device owning <paramref name="port"/>, with the port's offset in its range.</summary>
    public IPortDevice? Find(int port, out int offset)
    {
        lock (_lock)
        {
            foreach (var r in _ranges)
            {
                if (port >= r.Base && port < r.Base + r.Length)
                {
                    offset = port - r.Base;
                    return r.Device;
                }
            }
        }
        offset = 0;
        return null;
    }

    public uint Read(int port, int size)
    {
        var dev = Find(port, out int offset);
        uint ones = size switch { 1 => 0xFF, 2 => 0xFFFF, _ => 0xFFFF_FFFF };
        return dev is null ? ones : dev.Read(offset, size) & ones;
    }

    public void Write(int port, int size, uint value) => Find(port, out int offset)?.Write(offset, size, value);
}
