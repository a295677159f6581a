// Port access for the dp8390 driver: single registers with DEVIO and remote-DMA bursts of
// the NE2000 data port with VDEVIO (up to VDevIoRequest.MaxEntries word accesses per kernel
// call, the vector kept in the driver's arena). The kernel refuses any port outside the
// driver's privilege ranges; every failure is returned, never assumed away.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Drivers.Net.Dp8390;

internal sealed class Dp8390Ports
{
    private readonly int _base;
    private long _vector = -1;

    public Dp8390Ports(int ioBase) => _base = ioBase;

    /// <summary>The first error of any access so far (OK if none).</summary>
    public int Error { get; private set; } = Err.Ok;

    public int Allocate()
    {
        _vector = ArenaHeap.Allocate((long)VDevIoRequest.MaxEntries * 8);
        return _vector < 0 ? Err.ENOMEM : Err.Ok;
    }

    public byte In(int register)
    {
        int r = SysCall.InPort(_base + register, 1, out uint v);
        if (r != Err.Ok)
        {
            Note(r);
            return 0xFF;
        }
        return (byte)v;
    }

    public void Out(int register, byte value) => Note(SysCall.OutPort(_base + register, 1, value));

    private void Note(int r)
    {
        if (r != Err.Ok && Error == Err.Ok) Error = r;
    }

    /// <summary>Reads <paramref name="into"/>.Length bytes from the data port (word accesses).</summary>
    public void ReadData(Span<byte> into)
    {
        var ch = Channel.Current;
        int words = (into.Length + 1) / 2, done = 0;
        while (done < words)
        {
            int n = Math.Min(words - done, VDevIoRequest.MaxEntries);
            for (int i = 0; i < n; i++) ch.At<PortValue>(_vector + i * 8L) = new PortValue { Port = _base + Ne2000Regs.DataPort };
            int r = SysCall.VDevIo(_vector, n, 2, DevIoRequest.Read);
            if (r != Err.Ok)
            {
                Note(r);
                return;
            }
            for (int i = 0; i < n; i++)
            {
                uint w = ch.At<PortValue>(_vector + i * 8L).Value;
                int at = 2 * (done + i);
                into[at] = (byte)w;
                if (at + 1 < into.Length) into[at + 1] = (byte)(w >> 8);
            }
            done += n;
        }
    }

    /// <summary>Writes <paramref name="data"/> to the data port (word accesses, odd tail zero-padded).</summary>
    public void WriteData(ReadOnlySpan<byte> data)
    {
        var ch = Channel.Current;
        int words = (data.Length + 1) / 2, done = 0;
        while (done < words)
        {
            int n = Math.Min(words - done, VDevIoRequest.MaxEntries);
            for (int i = 0; i < n; i++)
            {
                int at = 2 * (done + i);
                uint w = data[at] | (at + 1 < data.Length ? (uint)data[at + 1] << 8 : 0);
                ch.At<PortValue>(_vector + i * 8L) = new PortValue { Port = _base + Ne2000Regs.DataPort, Value = w };
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
