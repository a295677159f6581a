// Where a NIC's frames go and come from: a Linux TAP device, a UDP tunnel to another
// Bulkhead instance, or an in-process peer. A backend delivers received frames by calling the
// receiver it was attached to, from its own thread; the device copies the frame before
// returning. Frames are whole Ethernet frames without the FCS.
namespace Bulkhead.Machine.Net;

public interface INicBackend : IDisposable
{
    void Attach(Action<ReadOnlySpan<byte>> receiver);

    void Send(ReadOnlySpan<byte> frame);
}
