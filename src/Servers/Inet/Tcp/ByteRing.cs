// A fixed-capacity ring of bytes, the send and receive buffer of a TCP connection. The storage
// is rented from the shared pool when the connection starts and returned by Release when it
// ends. Writes take what fits; Peek copies from any offset without consuming (retransmission);
// Read and Discard consume from the front. WriteAhead puts bytes into the free space past the
// end without counting them, and Commit counts them later (out-of-order TCP data): so the
// position of a byte never moves while it is in the ring.
using System.Buffers;

namespace Bulkhead.Servers.Inet.Tcp;

internal sealed class ByteRing(int capacity)
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(capacity);
    private int _head;

    public int Capacity { get; } = capacity;
    public int Count { get; private set; }
    public int Free => Capacity - Count;

    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        int tail = (_head + Count) % Capacity;
        int first = Math.Min(n, Capacity - tail);
        data[..first].CopyTo(_buffer.AsSpan(tail));
        data[first..n].CopyTo(_buffer);
        Count += n;
        return n;
    }

    /// <summary>Writes <paramref name="data"/> <paramref name="offset"/> bytes past the end,
    /// into free space, without counting it (Commit does).</summary>
    public void WriteAhead(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset + data.Length > Free) throw new ArgumentOutOfRangeException(nameof(offset));
        int start = (_head + Count + offset) % Capacity;
        int first = Math.Min(data.Length, Capacity - start);
        data[..first].CopyTo(_buffer.AsSpan(start));
        data[first..].CopyTo(_buffer);
    }

    /// <summary>Counts <paramref name="n"/> bytes past the end that WriteAhead put there.</summary>
    public void Commit(int n)
    {
        if ((uint)n > (uint)Free) throw new ArgumentOutOfRangeException(nameof(n));
        Count += n;
    }

    /// <summary>Copies <paramref name="into"/>.Length bytes starting <paramref name="offset"/> bytes past the front.</summary>
    public void Peek(int offset, Span<byte> into)
    {
        if (offset < 0 || offset + into.Length > Count) throw new ArgumentOutOfRangeException(nameof(offset));
        int start = (_head + offset) % Capacity;
        int first = Math.Min(into.Length, Capacity - start);
        _buffer.AsSpan(start, first).CopyTo(into);
        _buffer.AsSpan(0, into.Length - first).CopyTo(into[first..]);
    }

    public int Read(Span<byte> into)
    {
        int n = Math.Min(into.Length, Count);
        Peek(0, into[..n]);
        Discard(n);
        return n;
    }

    public void Discard(int n)
    {
        if ((uint)n > (uint)Count) throw new ArgumentOutOfRangeException(nameof(n));
        _head = (_head + n) % Capacity;
        Count -= n;
    }

    public void Release()
    {
        if (_buffer.Length == 0) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        Count = 0;
    }
}
