// Port access of the at_wini driver: single register reads and writes (DEVIO), byte writes
// queued and written as one vector (VDEVIO: the task file, a whole DMA command), two status
// registers read in one vector, and sector data moved through the data port as
// 32-bit accesses (each moves two words), VDevIoRequest.MaxEntries per kernel call, between the
// port and the driver's own arena.
// Rules: the first port error is remembered (Error) and reads after it answer all ones; the
// driver treats an error as the loss of its ports (it panics, and RS restarts it).
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Block.AtWini;

internal sealed class AtaPorts
{
    private const int Entries = VDevIoRequest.MaxEntries;
    private const int EntrySize = 8; // sizeof(PortValue)
    private long _vector = -1;
    private int _queued;

    /// <summary>The first port error (OK while there is none).</summary>
    public int Error { get; private set; } = Err.Ok;

    public int Init()
    {
        _vector = ArenaHeap.Allocate(Entries * EntrySize);
        return _vector < 0 ? Err.ENOMEM : Err.Ok;
    }

    public byte In8(int port)
    {
        int r = SysCall.InPort(port, 1, out uint v);
        if (r == Err.Ok) return (byte)v;
        Note(r);
        return 0xFF;
    }

    public void Out8(int port, byte value) => Note(SysCall.OutPort(port, 1, value));

    public void Out32(int port, uint value) => Note(SysCall.OutPort(port, 4, value));

    /// <summary>Queues a byte write for WriteQueued (task-file registers, in order).</summary>
    public void Queue(int port, byte value)
    {
        if (_queued == Entries) WriteQueued();
        Channel.Current.At<PortValue>(_vector + (long)_queued * EntrySize) = new PortValue { Port = port, Value = value };
        _queued++;
    }

    public void WriteQueued()
    {
        if (_queued == 0) return;
        int n = _queued;
        _queued = 0;
        Note(SysCall.VDevIo(_vector, n, 1, DevIoRequest.Write));
    }

    /// <summary>Reads two byte registers in one VDEVIO (all ones after a port error).</summary>
    public (byte First, byte Second) In8Pair(int first, int second)
    {
        if (_queued > 0) WriteQueued();
        var ch = Channel.Current;
        ch.At<PortValue>(_vector) = new PortValue { Port = first };
        ch.At<PortValue>(_vector + EntrySize) = new PortValue { Port = second };
        int r = SysCall.VDevIo(_vector, 2, 1, DevIoRequest.Read);
        if (r != Err.Ok)
        {
            Note(r);
            return (0xFF, 0xFF);
        }
        return ((byte)ch.At<PortValue>(_vector).Value, (byte)ch.At<PortValue>(_vector + EntrySize).Value);
    }

    /// <summary>Reads <paramref name="bytes"/> (a multiple of 4) from the data port into the arena.</summary>
    public void ReadData(int port, long to, int bytes)
    {
        var ch = Channel.Current;
        for (int done = 0; done < bytes && Error == Err.Ok;)
        {
            int n = Math.Min(Entries, (bytes - done) / 4);
            for (int i = 0; i < n; i++) ch.At<PortValue>(_vector + (long)i * EntrySize) = new PortValue { Port = port };
            int r = SysCall.VDevIo(_vector, n, 4, DevIoRequest.Read);
            if (r != Err.Ok)
            {
                Note(r);
                return;
            }
            for (int i = 0; i < n; i++) ch.At<uint>(to + done + 4L * i) = ch.At<PortValue>(_vector + (long)i * EntrySize).Value;
            done += 4 * n;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> (a multiple of 4) from the arena to the data port.</summary>
    public void WriteData(int port, long from, int bytes)
    {
        var ch = Channel.Current;
        for (int done = 0; done < bytes && Error == Err.Ok;)
        {
            int n = Math.Min(Entries, (bytes - done) / 4);
            for (int i = 0; i < n; i++)
                ch.At<PortValue>(_vector + (long)i * EntrySize) = new PortValue { Port = port, Value = ch.At<uint>(from + done + 4L * i) };
            Note(SysCall.VDevIo(_vector, n, 4, DevIoRequest.Write));
            done += 4 * n;
        }
    }

    private void Note(int r)
    {
        if (r != Err.Ok && Error == Err.Ok) Error = r;
    }
}
