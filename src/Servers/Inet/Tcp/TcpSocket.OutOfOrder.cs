// The out-of-order data of a connection. Bytes that arrive past RCV.NXT go straight into the
// receive ring's free space, at the place their sequence number will have once the hole before
// them is filled (ByteRing.WriteAhead), so they cost no extra memory and never exceed the
// advertised window; what is held is only a sorted list of disjoint sequence ranges, at most
// NetLimits.OutOfOrderRanges of them (adjacent and overlapping arrivals merge into one). When
// in-order data reaches a range, the range is committed to the ring as it stands. The ranges
// are also what the SACK option reports (RFC 2018), the one holding the latest arrival first.
namespace Bulkhead.Servers.Inet.Tcp;

public sealed partial class TcpSocket
{
    private struct SeqRange
    {
        public uint Start;
        public uint End;
    }

    private SeqRange[]? _ooo;
    private int _oooCount;
    /// <summary>Sequence number of an out-of-order FIN (valid when _oooFin).</summary>
    private uint _oooFinSeq;
    private bool _oooFin;
    /// <summary>First sequence number of the latest out-of-order arrival (the first SACK block holds it).</summary>
    private uint _oooLatest;

    private bool HasOutOfOrder => _oooCount > 0 || _oooFin;
    internal int OutOfOrderCount => _oooCount;

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
        uint end = seq + (uint)data.Length;
        if (fin)
        {
            // A FIN fixes where the stream ends; a second one elsewhere is the peer's confusion.
            if (_oooFin && _oooFinSeq != end) return;
            _oooFin = true;
            _oooFinSeq = end;
        }
        if (data.Length == 0) return;
        _ooo ??= new SeqRange[NetLimits.OutOfOrderRanges];
        // Ranges [first, last] overlap or touch the new one; none when first > last.
        int first = 0;
        while (first < _oooCount && Seq.Lt(_ooo[first].End, seq)) first++;
        int last = first - 1;
        while (last + 1 < _oooCount && Seq.Le(_ooo[last + 1].Start, end)) last++;
        if (first > last)
        {
            if (_oooCount == _ooo.Length)
            {
                Engine.Stats.Drop(DropReason.OutOfOrderOverflow);
                return;
            }
            Array.Copy(_ooo, first, _ooo, first + 1, _oooCount - first);
            _ooo[first] = new SeqRange { Start = seq, End = end };
            _oooCount++;
        }
        else
        {
            var merged = new SeqRange { Start = Seq.Min(seq, _ooo[first].Start), End = Seq.Max(end, _ooo[last].End) };
            _ooo[first] = merged;
            int removed = last - first;
            Array.Copy(_ooo, last + 1, _ooo, first + 1, _oooCount - last - 1);
            _oooCount -= removed;
        }
        _recv.WriteAhead((int)(seq - _rcvNxt), data);
        _oooLatest = seq;
    }

    /// <summary>After in-order data: commits every range RCV.NXT has reached, and the FIN behind them.</summary>
    private void DrainOutOfOrder()
    {
        int done = 0;
        while (done < _oooCount && Seq.Le(_ooo![done].Start, _rcvNxt))
        {
            if (Seq.Gt(_ooo[done].End, _rcvNxt))
            {
                int n = Math.Min((int)(_ooo[done].End - _rcvNxt), _recv!.Free);
                _recv.Commit(n);
                _rcvNxt += (uint)n;
            }
            done++;
        }
        if (done > 0)
        {
            Array.Copy(_ooo!, done, _ooo!, 0, _oooCount - done);
            _oooCount -= done;
        }
        if (_oooFin && _rcvNxt == _oooFinSeq)
        {
            ClearOutOfOrder();
            FinArrives();
        }
    }

    private void ClearOutOfOrder()
    {
        _oooCount = 0;
        _oooFin = false;
    }

    /// <summary>Length of the SACK option this ACK carries (0 when SACK is off or nothing is
    /// held): NOP, NOP, kind 5 and up to <paramref name="room"/> bytes of 8-byte blocks.</summary>
    private int SackOptionLength(int room)
    {
        if (!_sack || _oooCount == 0) return 0;
        int blocks = Math.Min(_oooCount, Math.Min(NetLimits.SackBlocks, (room - 4) / 8));
        return blocks > 0 ? 4 + 8 * blocks : 0;
    }

    /// <summary>Writes the SACK option of SackOptionLength into <paramref name="o"/>: the range
    /// holding the latest arrival first (RFC 2018 §4), then the others from the highest down.</summary>
    private void WriteSack(Span<byte> o, int length)
    {
        int blocks = (length - 4) / 8;
        o[0] = 1;
        o[1] = 1;
        o[2] = 5;
        o[3] = (byte)(2 + 8 * blocks);
        int latest = _oooCount - 1;
        for (int i = 0; i < _oooCount; i++)
            if (Seq.Le(_ooo![i].Start, _oooLatest) && Seq.Lt(_oooLatest, _ooo[i].End)) latest = i;
        int at = 4;
        WriteBlock(o, ref at, _ooo![latest]);
        for (int i = _oooCount - 1; i >= 0 && at < length; i--)
            if (i != latest) WriteBlock(o, ref at, _ooo[i]);

        static void WriteBlock(Span<byte> o, ref int at, SeqRange r)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(o[at..], r.Start);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(o[(at + 4)..], r.End);
            at += 8;
        }
    }
}
