// Port access for the dp8390 driver, batched so that a frame costs few kernel calls. Register
// writes (Out) are queued in a vector in the driver's arena and go to the card in one VDEVIO of
// byte writes, in the order they were queued, just before the next register read, data-port
// burst or Flush: the card sees every write, in the driver's order, before anything the driver
// reads after it (a VDEVIO carries one access size and one direction, so a read always ends a
// batch). Several registers can be read in one VDEVIO (In with a list), and remote-DMA bursts of
// the data port go as vectors of word accesses (up to VDevIoRequest.MaxEntries per call). A
// batch of one goes as a plain DEVIO.
// Rules: the caller flushes before anything else may happen that the card's state matters to
// (an IRQCTL Enable, returning to the request loop), so no write is left queued between two
// requests. The kernel refuses any port outside the driver's privilege ranges and checks a
// whole vector before performing any of it. The first failure is kept (Error); from then on
// no port is touched again (reads give 0xFF, writes are dropped), so a port error ends the
// operation under way and every later one, and the caller sees it at its next check.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Net.Dp8390;

internal sealed class Dp8390Ports
{
    private const int Entries = VDevIoRequest.MaxEntries;
    private const long EntrySize = 8; // sizeof(PortValue)
    private readonly int _base;
    private long _vector = -1;
    private int _queued; // register writes waiting in the vector, oldest first

    public Dp8390Ports(int ioBase) => _base = ioBase;

    /// <summary>The first error of any access performed so far (OK if none); queued writes count once flushed.</summary>
    public int Error { get; private set; } = Err.Ok;

    public int Allocate()
    {
        _vector = ArenaHeap.Allocate(Entries * EntrySize);
        return _vector < 0 ? Err.ENOMEM : Err.Ok;
    }

    /// <summary>Queues a byte write to <paramref name="register"/>; it reaches the card at the next read, burst or Flush.</summary>
    public void Out(int register, byte value)
    {
        if (Error != Err.Ok) return;
        if (_queued == Entries && Flush() != Err.Ok) return;
        Channel.Current.At<PortValue>(_vector + _queued * EntrySize) = new PortValue { Port = _base + register, Value = value };
        _queued++;
    }

    /// <summary>Performs the queued writes (one kernel call, none if nothing is queued); returns Error.</summary>
    public int Flush()
    {
        int n = _queued;
        _queued = 0;
        if (n == 0 || Error != Err.Ok) return Error;
        if (n == 1)
        {
            var only = Channel.Current.At<PortValue>(_vector);
            Note(SysCall.OutPort(only.Port, 1, only.Value));
        }
        else
        {
            Note(SysCall.VDevIo(_vector, n, 1, DevIoRequest.Write));
        }
        return Error;
    }

    /// <summary>Reads one register after the queued writes; 0xFF once anything failed.</summary>
    public byte In(int register)
    {
        if (Flush() != Err.Ok) return 0xFF;
        int r = SysCall.InPort(_base + register, 1, out uint v);
        if (r != Err.Ok)
        {
            Note(r);
            return 0xFF;
        }
        return (byte)v;
    }

    /// <summary>Reads <paramref name="registers"/> in order in one kernel call, after the queued writes; all 0xFF once anything failed.</summary>
    public void In(ReadOnlySpan<int> registers, Span<byte> values)
    {
        if (registers.Length is < 1 or > Entries || values.Length != registers.Length)
            throw new ArgumentException("one value per register, 1 to VDevIoRequest.MaxEntries registers");
        values.Fill(0xFF);
        if (Flush() != Err.Ok) return;
        var ch = Channel.Current;
        for (int i = 0; i < registers.Length; i++) ch.At<PortValue>(_vector + i * EntrySize) = new PortValue { Port = _base + registers[i] };
        int r = SysCall.VDevIo(_vector, registers.Length, 1, DevIoRequest.Read);
        if (r != Err.Ok)
        {
            Note(r);
            return;
        }
        for (int i = 0; i < values.Length; i++) values[i] = (byte)ch.At<PortValue>(_vector + i * EntrySize).Value;
    }

    private void Note(int r)
    {
        if (r != Err.Ok && Error == Err.Ok) Error = r;
    }

    /// <summary>Reads <paramref name="into"/>.Length bytes from the data port (word accesses) after the queued writes.</summary>
    public void ReadData(Span<byte> into)
    {
        if (Flush() != Err.Ok) return;
        var ch = Channel.Current;
        int words = (into.Length + 1) / 2, done = 0;
        while (done < words)
        {
            int n = Math.Min(words - done, Entries);
            for (int i = 0; i < n; i++) ch.At<PortValue>(_vector + i * EntrySize) = new PortValue { Port = _base + Dp8390Registers.DataPort };
            int r = SysCall.VDevIo(_vector, n, 2, DevIoRequest.Read);
            if (r != Err.Ok)
            {
                Note(r);
                return;
            }
            for (int i = 0; i < n; i++)
            {
                uint w = ch.At<PortValue>(_vector + i * EntrySize).Value;
                int at = 2 * (done + i);
                into[at] = (byte)w;
                if (at + 1 < into.Length) into[at + 1] = (byte)(w >> 8);
            }
            done += n;
        }
    }

    /// <summary>Writes <paramref name="data"/> to the data port (word accesses, odd tail zero-padded) after the queued writes.</summary>
    public void WriteData(ReadOnlySpan<byte> data)
    {
        if (Flush() != Err.Ok) return;
        var ch = Channel.Current;
        int words = (data.Length + 1) / 2, done = 0;
        while (done < words)
        {
            int n = Math.Min(words - done, Entries);
            for (int i = 0; i < n; i++)
            {
                int at = 2 * (done + i);
                uint w = data[at] | (at + 1 < data.Length ? (uint)data[at + 1] << 8 : 0);
                ch.At<PortValue>(_vector + i * EntrySize) = new PortValue { Port = _base + Dp8390Registers.DataPort, Value = w };
            }
            int r = SysCall.VDevIo(_vector, n, 2, DevIoRequest.Write);
            if (r != Err.Ok)
            {
                Note(r);
                return;
            }
            done += n;
        }
    }
}
