// The component side of the trap channel: maps the arena and the read-only kernel page that
// the kernel handed over as fds 3 and 4, and performs one trap at a time: write the request
// into the trap page, ring the doorbell eventfd, wait on the kernel page's ReplySeq futex.
//
// A component attaches once (Channel.Current). At attach it asks the host to kill it when its
// parent (the kernel's spawning thread) dies and checks that the parent is still the kernel,
// so a component never outlives its kernel.
using Bulkhead.Lib.Host;

namespace Bulkhead.Lib.Ipc;

public sealed unsafe class Channel
{
    private static Channel? s_current;
    private static readonly object s_attachLock = new();

    private readonly byte* _arena;
    private readonly KernelPage* _kpage;
    private readonly int _doorbell;
    private readonly object _trapLock = new();

    public long ArenaSize { get; }
    public int SelfEndpoint => _kpage->Endpoint;
    public string Name => _kpage->Name.ToString();
    public long BootTimeUnixNs => _kpage->BootTimeUnixNs;

    private Channel(byte* arena, long arenaSize, KernelPage* kpage, int doorbell)
    {
        _arena = arena;
        ArenaSize = arenaSize;
        _kpage = kpage;
        _doorbell = doorbell;
    }

    /// <summary>True when this process was started by a Bulkhead kernel.</summary>
    public static bool IsComponent => Environment.GetEnvironmentVariable(ChannelLayout.KernelPidVariable) is not null;

    public static Channel Current
    {
        get
        {
            if (s_current is { } c) return c;
            lock (s_attachLock) return s_current ??= Attach();
        }
    }

    private static Channel Attach()
    {
        string? kpid = Environment.GetEnvironmentVariable(ChannelLayout.KernelPidVariable);
        if (kpid is null || !int.TryParse(kpid, out int kernelPid))
            throw new InvalidOperationException("not started by a Bulkhead kernel (no " + ChannelLayout.KernelPidVariable + ")");
        Native.prctl(Native.PR_SET_PDEATHSIG, Native.SIGKILL, 0, 0, 0);
        if (Native.getppid() != kernelPid) Environment.Exit(70); // the kernel died before we got here

        // The kernel page comes first: it tells the arena size.
        nint kp = Native.mmap(0, ChannelLayout.KernelPageSize, Native.PROT_READ, Native.MAP_SHARED, ChannelLayout.KernelPageFd, 0);
        if (kp == -1) throw new InvalidOperationException($"cannot map kernel page (errno {Native.Errno})");
        var kpage = (KernelPage*)kp;
        long size = kpage->ArenaSize;
        nint ar = Native.mmap(0, (nuint)size, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, ChannelLayout.ArenaFd, 0);
        if (ar == -1) throw new InvalidOperationException($"cannot map arena (errno {Native.Errno})");
        return new Channel((byte*)ar, size, kpage, ChannelLayout.DoorbellFd);
    }

    /// <summary>The whole arena as bytes. Offsets into it are this process's "virtual addresses".</summary>
    public Span<byte> Arena => new(_arena, (int)ArenaSize);

    public ref T At<T>(long offset) where T : unmanaged
    {
        if (offset < 0 || offset + sizeof(T) > ArenaSize) throw new ArgumentOutOfRangeException(nameof(offset));
        return ref *(T*)(_arena + offset);
    }

    /// <summary>Performs one trap. Returns the kernel's result; on success of a receiving
    /// trap (RECEIVE, SENDREC) <paramref name="m"/> holds the delivered message.</summary>
    public int Trap(int trap, int srcDst, ref Message m, long arg = 0, long count = 0)
    {
        lock (_trapLock)
        {
            var req = (TrapRequest*)_arena;
            req->Trap = trap;
            req->SrcDst = srcDst;
            req->ChainTrap = 0;
            req->Arg = arg;
            req->Count = count;
            req->Msg = m;
            uint seq = req->Seq + 1;
            Publish(req, seq);
            WaitReply(seq);
            int result = _kpage->Result;
            if (result == Err.Ok && (trap == Bulkhead.Lib.Ipc.Trap.Receive || trap == Bulkhead.Lib.Ipc.Trap.SendRec)) m = _kpage->Msg;
            return result;
        }
    }

    /// <summary>SEND, SENDNB or NOTIFY to <paramref name="dst"/>, then RECEIVE from
    /// <paramref name="src"/> in one kernel entry. Returns the RECEIVE's result, or the first
    /// primitive's error (then <paramref name="firstResult"/> tells which, and nothing was
    /// received).</summary>
    public int TrapThenReceive(int trap, int dst, ref Message m, int src, out int firstResult) =>
        TrapThenReceiveRaw(trap, dst, Bulkhead.Lib.Ipc.Trap.Receive, src, ref m, out firstResult);

    /// <summary>TrapThenReceive with any chained primitive number (tests of the kernel's checks).</summary>
    public int TrapThenReceiveRaw(int trap, int dst, int chainTrap, int src, ref Message m, out int firstResult)
    {
        lock (_trapLock)
        {
            var req = (TrapRequest*)_arena;
            req->Trap = trap;
            req->SrcDst = dst;
            req->ChainTrap = chainTrap;
            req->Arg = src;
            req->Count = 0;
            req->Msg = m;
            uint seq = req->Seq + 1;
            Publish(req, seq);
            WaitReply(seq);
            firstResult = _kpage->FirstResult;
            int result = _kpage->Result;
            if (firstResult == Err.Ok && result == Err.Ok) m = _kpage->Msg;
            return firstResult == Err.Ok ? result : firstResult;
        }
    }

    /// <summary>Makes the request visible and rings the doorbell unless the kernel is watching
    /// the trap page (KernelPage.Watching): it answered this process's last call and looks
    /// here before it sleeps, so the ring (a host system call) would be wasted.</summary>
    private void Publish(TrapRequest* req, uint seq)
    {
        Interlocked.Exchange(ref req->Seq, seq); // a full barrier: Seq is stored before Watching is read
        if (Volatile.Read(ref _kpage->Watching) == 0) Native.WriteEventfd(_doorbell);
    }

    private void WaitReply(uint seq)
    {
        uint* word = &_kpage->ReplySeq;
        for (int spin = 0; spin < SpinIterations; spin++)
        {
            if (Volatile.Read(ref *word) == seq) return;
            Thread.SpinWait(8);
        }
        while (true)
        {
            uint cur = Volatile.Read(ref *word);
            if (cur == seq) return;
            Native.FutexWait(word, cur);
        }
    }

    /// <summary>Busy-wait iterations before sleeping on the futex (tunable by BULKHEAD_SPIN).</summary>
    public static int SpinIterations { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("BULKHEAD_SPIN"), out int s) ? s : 0;

    /// <summary>Raw access for hostile-component tests: ring the doorbell without a valid request.</summary>
    public void RingRaw(ReadOnlySpan<byte> trapPageBytes, bool wait)
    {
        lock (_trapLock)
        {
            var req = (TrapRequest*)_arena;
            uint seq = req->Seq + 1;
            int n = Math.Min(trapPageBytes.Length, sizeof(TrapRequest));
            trapPageBytes[..n].CopyTo(new Span<byte>(_arena, n));
            req->Seq = seq;
            Native.WriteEventfd(_doorbell);
            if (wait) WaitReply(seq);
        }
    }

    public int LastResult => _kpage->Result;

}
