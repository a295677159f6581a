// An in-process backend pair: what one side sends, the other receives. For tests and for two
// NICs of one machine wired back to back.
namespace Bulkhead.Machine.Net;

public sealed class PeerBackend : INicBackend
{
    private readonly object _lock = new();
    private Action<ReadOnlySpan<byte>>? _receiver;
    private PeerBackend? _other;

    public static (PeerBackend A, PeerBackend B) Pair()
    {
        var a = new PeerBackend();
        var b = new PeerBackend();
        a._other = b;
        b._other = a;
        return (a, b);
    }

    public void Attach(Action<ReadOnlySpan<byte>> receiver)
    {
        lock (_lock) _receiver = receiver;
    }

    public void Send(ReadOnlySpan<byte> frame) => _other?.Deliver(frame);

    private void Deliver(ReadOnlySpan<byte> frame)
    {
        Action<ReadOnlySpan<byte>>? r;
        lock (_lock) r = _receiver;
        r?.Invoke(frame);
    }

    public void Dispose()
    {
        lock (_lock) _receiver = null;
    }
}
