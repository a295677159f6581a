// What the engine needs from the server for one interface: a way to hand a finished Ethernet
// frame to the driver. The span is valid only during the call (the engine reuses its buffer);
// the server copies it into its own transmit queue. Transmit must not call back into the engine.
namespace Bulkhead.Servers.Inet;

public interface INetLink
{
    void Transmit(ReadOnlySpan<byte> frame);
}
