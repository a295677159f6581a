// The out-of-order queue of a connection: segments that arrived past RCV.NXT, kept sorted by
// sequence number in pooled buffers, at most NetLimits.OutOfOrderSegments of them, never past
// the advertised window and never more bytes in all than the receive ring has free (so that
// overlapping segments cannot hold more than the window each); drained into the receive ring
// when the hole before them is filled.
using System.Buffers;

namespace Bulkhead.Servers.Inet.Tcp;

public sealed partial class TcpSocket
{
    private struct Held
    {
        public uint Seq;
        public byte[] Data;
        public int Length;
        public bool Fin;
    }

    private List<Held>? _ooo;
    /// <summary>Bytes held in _ooo, at most the receive ring's free space.</summary>
    private int _oooBytes;

    private bool HasOutOfOrder => _ooo is { Count: > 0 };
    internal int OutOfOrderCount => _ooo?.Count ?? 0;

    private void InsertOutOfOrder(uint seq, ReadOnlySpan<byte> data, bool fin)
    {
        uint limit = _rcvNxt + (uint)_recv!.Free;
        if (Seq.Gt(seq + (uint)data.Length, limit))
        {
            if (Seq.Ge(seq, limit))
            {
                Engine.Stats.Drop(DropReason.OutOfWindow);
                return;
            }
            data = data[..(int)(limit - seq)];
            fin = false;
        }
        _ooo ??= new List<Held>(8);
        int i = 0;
        while (i < _ooo.Count && Seq.Lt(_ooo[i].Seq, seq)) i++;
        if (i < _ooo.Count && _ooo[i].Seq == seq && _ooo[i].Length >= data.Length && (_ooo[i].Fin || !fin)) return; // duplicate
        if (_ooo.Count >= NetLimits.OutOfOrderSegments || _oooBytes + data.Length > _recv.Free)
        {
            Engine.Stats.Drop(DropReason.OutOfOrderOverflow);
            return;
        }
        var buf = ArrayPool<byte>.Shared.Rent(Math.Max(1, data.Length));
        data.CopyTo(buf);
        _ooo.Insert(i, new Held { Seq = seq, Data = buf, Length = data.Length, Fin = fin });
        _oooBytes += data.Length;
    }

    private void DrainOutOfOrder()
    {
        while (_ooo is { Count: > 0 })
        {
            var h = _ooo[0];
            if (Seq.Gt(h.Seq, _rcvNxt)) break;
            _ooo.RemoveAt(0);
            _oooBytes -= h.Length;
            uint end = h.Seq + (uint)h.Length;
            if (Seq.Gt(end, _rcvNxt))
            {
                int skip = (int)(_rcvNxt - h.Seq);
                _rcvNxt += (uint)_recv!.Write(h.Data.AsSpan(skip, h.Length - skip));
            }
            bool fin = h.Fin && _rcvNxt == end;
            ArrayPool<byte>.Shared.Return(h.Data);
            if (fin)
            {
                FinArrives();
                ClearOutOfOrder();
                break;
            }
        }
    }

    private void ClearOutOfOrder()
    {
        if (_ooo == null) return;
        foreach (var h in _ooo) ArrayPool<byte>.Shared.Return(h.Data);
        _ooo.Clear();
        _oooBytes = 0;
    }
}
