// A pipe: a bounded ring of VfsCall.PipeBuffer bytes with counts of the open files reading and
// writing it. Reads take what is there (0 once no writer is left), writes put what fits (EPIPE
// once no reader is left); a call that finds nothing to do waits as its caller's pending call
// (VfsService.Pending.cs). Rules: the ring never grows; Readers and Writers count open files.
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed class Pipe
{
    private readonly byte[] _ring = new byte[VfsCall.PipeBuffer];
    private int _head;

    public int Id { get; }
    public int Count { get; private set; }
    public int Readers { get; set; }
    public int Writers { get; set; }
    public int Space => _ring.Length - Count;

    public Pipe(int id) => Id = id;

    /// <summary>Takes up to into.Length bytes; the count.</summary>
    public int Take(Span<byte> into)
    {
        int n = Math.Min(into.Length, Count);
        for (int done = 0; done < n;)
        {
            int run = Math.Min(n - done, _ring.Length - _head);
            _ring.AsSpan(_head, run).CopyTo(into[done..]);
            _head = (_head + run) % _ring.Length;
            done += run;
        }
        Count -= n;
        if (Count == 0) _head = 0;
        return n;
    }

    /// <summary>Puts as much of data as fits; the count.</summary>
    public int Put(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Space);
        int tail = (_head + Count) % _ring.Length;
        for (int done = 0; done < n;)
        {
            int run = Math.Min(n - done, _ring.Length - tail);
            data.Slice(done, run).CopyTo(_ring.AsSpan(tail, run));
            tail = (tail + run) % _ring.Length;
            done += run;
        }
        Count += n;
        return n;
    }
}
