// The Bulkhead kernel (ARCHITECTURE.md §1–3): one host process, one loop thread that owns
// every kernel table. The loop waits in epoll for
//   * doorbells (one eventfd per process: "I wrote a trap request"),
//   * pidfds (one per process: "my host process exited"),
//   * its own wake eventfd (host-side requests queued with Invoke),
// and for the earliest timer (alarms, the scheduling tick). Everything a process asks for is
// decided and answered on this thread, so no kernel table needs a lock.
//
// Files: Kernel.cs (lifecycle and loop), Processes.cs (creation, exit, table), Ipc/*.cs
// (primitives), System/*.cs (kernel calls, clock, scheduling, accounting).
using System.Collections.Concurrent;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed unsafe partial class Kernel : IDisposable
{
    private const ulong TagDoorbell = 1UL << 56;
    private const ulong TagPidfd = 2UL << 56;
    private const ulong TagWake = 3UL << 56;
    private const ulong TagTimer = 4UL << 56;

    private readonly KernelOptions _opt;
    private readonly Proc[] _procs;
    private readonly int _epfd;
    private readonly int _wakefd;
    /// <summary>One timerfd armed for the earliest of the next alarm and the next scheduling
    /// tick, so the loop sleeps in epoll without a timeout (no timer set up per wait).</summary>
    private readonly int _timerfd;
    private long _timerArmedAt = -1;
    /// <summary>stdin of every component that is not given one: they never share the kernel's.</summary>
    private readonly int _devNull;
    private readonly ConcurrentQueue<Action> _invokes = new();
    private readonly Thread _thread;
    private readonly long _bootNs = Native.MonotonicNs();
    private readonly long _bootUnixNs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
    private readonly TextWriter? _sysLog;
    private readonly object _logLock = new();
    private volatile bool _stopping;
    private bool _stopped;
    private int _nextSlot;

    public int HostPid { get; } = Environment.ProcessId;
    public int SlotCount => _procs.Length;
    public long UptimeNs => Native.MonotonicNs() - _bootNs;
    public bool IsRunning => !_stopped;

    /// <summary>Raised on the kernel thread when a process whose parent of record is the
    /// kernel exits (boot processes); the argument is the exit report.</summary>
    public event Action<ExitInfo>? KernelChildExited;

    public Kernel(KernelOptions options)
    {
        _opt = options;
        if (options.ProcSlots is < 8 or > 4096) throw new ArgumentOutOfRangeException(nameof(options), "ProcSlots must be 8..4096");
        if (options.ProcSlots >= Host.Jail.HostJail.UidBlockSize) throw new ArgumentOutOfRangeException(nameof(options), "ProcSlots exceeds the uid block");
        _jail = options.Confinement is { } jail ? Host.Jail.HostJail.Create(jail) : null;
        _procs = new Proc[options.ProcSlots];
        for (int i = 0; i < _procs.Length; i++) _procs[i] = new Proc(i, _procs.Length);
        _nextSlot = Math.Min(options.FirstDynamicSlot, _procs.Length - 1);
        _epfd = Native.epoll_create1(Native.EPOLL_CLOEXEC);
        _wakefd = Native.eventfd(0, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK);
        if (_epfd < 0 || _wakefd < 0) throw new InvalidOperationException($"epoll/eventfd failed (errno {Native.Errno})");
        EpollAdd(_wakefd, TagWake, Native.EPOLLIN);
        _timerfd = Native.timerfd_create(Native.CLOCK_MONOTONIC, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK);
        if (_timerfd < 0) throw new InvalidOperationException($"timerfd_create failed (errno {Native.Errno})");
        EpollAdd(_timerfd, TagTimer, Native.EPOLLIN);
        _devNull = Native.open("/dev/null", Native.O_RDWR | Native.O_CLOEXEC, 0);
        if (options.SysLogPath is { } path)
            _sysLog = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        _thread = new Thread(Loop) { Name = "bulkhead-kernel", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="f"/> on the kernel thread and returns its result.</summary>
    public T Invoke<T>(Func<T> f)
    {
        if (Environment.CurrentManagedThreadId == _thread.ManagedThreadId) return f();
        if (_stopped) throw new ObjectDisposedException(nameof(Kernel));
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _invokes.Enqueue(() =>
        {
            try { done.SetResult(f()); }
            catch (Exception e) { done.SetException(e); }
        });
        Native.WriteEventfd(_wakefd);
        if (_stopped && _invokes.TryDequeue(out _)) throw new ObjectDisposedException(nameof(Kernel));
        return done.Task.GetAwaiter().GetResult();
    }

    public void Invoke(Action a) => Invoke(() => { a(); return 0; });

    /// <summary>Stops every process (SIGKILL, then waits for each) and the loop.</summary>
    public void Shutdown()
    {
        if (_stopped) return;
        _stopping = true;
        Native.WriteEventfd(_wakefd);
        _thread.Join();
    }

    public void Dispose()
    {
        Shutdown();
        Native.close(_epfd);
        Native.close(_wakefd);
        Native.close(_timerfd);
        Native.close(_devNull);
        _jail?.Dispose();
        _sysLog?.Dispose();
    }

    /// <summary>Blocks until the kernel stops (after Shutdown from another thread or a control request).</summary>
    public void WaitForExit() => _thread.Join();

    private void Loop()
    {
        if (_opt.CpuMask != 0)
        {
            ulong mask = _opt.CpuMask;
            Native.sched_setaffinity(0, sizeof(ulong), &mask);
        }
        // The kernel thread runs a little ahead of the components it serves (fails harmlessly without privilege).
        Native.setpriority(Native.PRIO_PROCESS, Native.gettid(), -5);
        const int MaxEvents = 64;
        var events = stackalloc Native.EpollEvent[MaxEvents];
        long nextTick = Native.MonotonicNs() + _opt.QuantumNs;
        try
        {
            int direct = 0;
            while (!_stopping)
            {
                ArmTimer(Math.Min(nextTick, _nextAlarm));
                // Requests of watched processes first (Ipc/Traps.cs), but at most DirectBudget
                // in a row: then epoll, without sleeping, so doorbells, exits, timers and host
                // requests are never starved by a pair of processes trading messages.
                if (_watchedCount > 0 && direct < DirectBudget && ServeWatched())
                {
                    direct++;
                }
                else
                {
                    int n = Native.epoll_wait(_epfd, events, MaxEvents, _watchedCount > 0 ? 0 : -1);
                    direct = 0;
                    for (int i = 0; i < n && !_stopping; i++) Dispatch(events[i].Data, events[i].Events);
                }
                long now = Native.MonotonicNs();
                if (now >= _nextAlarm) RunAlarms(now);
                if (now >= nextTick)
                {
                    SchedulerTick(now);
                    nextTick = now + _opt.QuantumNs;
                }
            }
        }
        catch (Exception e)
        {
            Log("kernel", $"panic: {e}");
        }
        finally
        {
            KillAll();
            _stopped = true;
            while (_invokes.TryDequeue(out var a)) a(); // let waiters see the final state
        }
    }

    /// <summary>Watched requests served in a row before the loop polls epoll again.</summary>
    private const int DirectBudget = 16;

    private void Dispatch(ulong tag, uint events)
    {
        ulong kind = tag & (0xFFUL << 56);
        if (kind == TagTimer)
        {
            Native.ReadEventfd(_timerfd); // expiration count: the loop checks the clock itself
            _timerArmedAt = -1;
            return;
        }
        if (kind == TagWake)
        {
            Native.ReadEventfd(_wakefd);
            while (_invokes.TryDequeue(out var a)) a();
            if (Interlocked.Exchange(ref _irqPending, 0) != 0) ServiceInterrupts();
            return;
        }
        int ep = (int)(uint)tag;
        var p = ProcOf(ep);
        if (p is null) return; // stale event for a slot that was reused meanwhile
        if (kind == TagDoorbell) HandleDoorbell(p);
        else if (kind == TagPidfd) HandleExit(p);
        else if (kind == TagSeccomp) HandleSeccomp(p, events);
    }

    /// <summary>Arms the timerfd for the absolute monotonic time <paramref name="deadlineNs"/>
    /// unless it is armed for exactly that already.</summary>
    private void ArmTimer(long deadlineNs)
    {
        if (deadlineNs == _timerArmedAt) return;
        var spec = new Native.ITimerSpec
        {
            Value = new Native.Timespec { Sec = deadlineNs / 1_000_000_000, Nsec = deadlineNs % 1_000_000_000 },
        };
        Native.timerfd_settime(_timerfd, Native.TFD_TIMER_ABSTIME, &spec, null);
        _timerArmedAt = deadlineNs;
    }

    private void EpollAdd(int fd, ulong tag, uint events)
    {
        var ev = new Native.EpollEvent { Events = events, Data = tag };
        if (Native.epoll_ctl(_epfd, Native.EPOLL_CTL_ADD, fd, &ev) != 0)
            throw new InvalidOperationException($"epoll_ctl failed (errno {Native.Errno})");
    }

    private void EpollDel(int fd)
    {
        var ev = default(Native.EpollEvent);
        Native.epoll_ctl(_epfd, Native.EPOLL_CTL_DEL, fd, &ev);
    }

    /// <summary>Writes a line to the console and the system log: "name: text".</summary>
    public void Log(string who, string text)
    {
        string line = $"{who}: {text}";
        lock (_logLock)
        {
            try { _opt.Console.WriteLine(line); _opt.Console.Flush(); } catch (IOException) { }
            if (_sysLog is not null)
            {
                long ms = UptimeNs / 1_000_000;
                _sysLog.WriteLine($"[{ms / 1000,6}.{ms % 1000:D3}] {line}");
            }
        }
    }
}
