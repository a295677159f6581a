// A device reached through I/O ports (x86 IN/OUT). Offsets are relative to the base the
// device was registered at; size is 1, 2 or 4 bytes. Devices must accept any offset inside
// their range and any value (a misprogrammed device misbehaves the way the datasheet says,
// it never throws). Calls may come from several threads: devices lock internally.
namespace Bulkhead.Machine.Io;

public interface IPortDevice
{
    string Name { get; }

    uint Read(int offset, int size);

    void Write(int offset, int size, uint value);
}
