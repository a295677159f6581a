// Pipes, blocked callers and dead programs (docs/vfs.md "Pipes"). A read of an empty pipe that
// still has a writer, or a write into a full pipe that still has a reader, becomes its caller's
// one pending call (a program blocked in SENDREC has no other, so the table is bounded by the
// process table) and is tried again after every call that changed a pipe; its answer goes out
// with SENDNB (ServerLoop.Reply). O_NONBLOCK answers EAGAIN instead. A write with no reader left
// is EPIPE; a read with no writer left is 0 (end of file).
// Dead programs: once a second, while programs hold anything, VFS asks the kernel about each
// (TIMES answers EDEADSRCDST for a dead endpoint) and closes what a dead one held, so a killed
// program leaves no descriptor, no pipe end and no pending call behind.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed partial class VfsService
{
    /// <summary>The result of an attempt that must wait.</summary>
    private const int Blocked = int.MinValue;
    /// <summary>How often programs are checked for life.</summary>
    public const long SweepNs = 1_000_000_000;

    private readonly Dictionary<int, Message> _pending = [];
    private bool _pipesChanged;
    private bool _alarmArmed;

    public int PendingCalls => _pending.Count;

    private int PipeRead(ref Message m, Proc p, OpenFile f, Pipe pipe, in VfsRequest req, int len)
    {
        if (pipe.Count == 0)
        {
            if (pipe.Writers == 0 || len == 0) return 0;
            return f.NonBlocking ? Err.EAGAIN : Wait(ref m, p);
        }
        int n = pipe.Take(Buffer[..len]);
        _pipesChanged = true;
        int c = SysCall.SafeCopyTo(p.Endpoint, req.Grant, 0, _buffer, n);
        if (c != Err.Ok) return CopyErr(c);
        m = default;
        return n;
    }

    private int PipeWrite(ref Message m, Proc p, Pipe pipe, OpenFile f, in VfsRequest req, int len)
    {
        if (pipe.Readers == 0) return Err.EPIPE;
        if (len == 0) return 0;
        if (pipe.Space == 0) return f.NonBlocking ? Err.EAGAIN : Wait(ref m, p);
        int n = Math.Min(len, pipe.Space);
        int c = SysCall.SafeCopyFrom(p.Endpoint, req.Grant, 0, _buffer, n);
        if (c != Err.Ok) return CopyErr(c);
        pipe.Put(Buffer[..n]);
        _pipesChanged = true;
        m = default;
        return n;
    }

    private int Wait(ref Message m, Proc p)
    {
        if (_retrying) return Blocked;
        _pending[p.Endpoint] = m;
        return Err.EDONTREPLY;
    }

    private bool _retrying;

    /// <summary>After every call and every alarm: pending calls tried again while pipes change,
    /// the sweep alarm armed while programs hold anything.</summary>
    private void AfterCall()
    {
        for (int round = 0; _pipesChanged && _pending.Count > 0 && round <= _pending.Count + 1; round++)
        {
            _pipesChanged = false;
            foreach (var (caller, request) in _pending.ToArray())
            {
                var m = request;
                var p = ProcOf(caller);
                _retrying = true;
                int r = m.Type == VfsCall.Read ? DoRead(ref m, p) : DoWrite(ref m, p);
                _retrying = false;
                if (r == Blocked) continue;
                _pending.Remove(caller);
                if (_loop!.Reply(caller, r, ref m) == Err.EDEADSRCDST) Forget(p, evenWithFiles: true);
            }
        }
        _pipesChanged = false;
        if (!_alarmArmed && _procs.Count > 0 && SysCall.SetAlarm(SweepNs, absolute: false, out _) == Err.Ok) _alarmArmed = true;
    }

    /// <summary>The alarm: dead programs' descriptors closed, their pending calls dropped.</summary>
    public void Sweep()
    {
        _alarmArmed = false;
        foreach (var p in _procs.Values.ToArray())
        {
            if (SysCall.Times(p.Endpoint, out _) != Err.EDEADSRCDST) continue;
            _pending.Remove(p.Endpoint);
            Forget(p, evenWithFiles: true);
        }
        AfterCall();
    }
}
