// The kernel's side of one process's memory: its arena (memfd, mapped read/write here and in
// the process) and its kernel page (memfd mapped read/write here; the process gets a read-only
// descriptor of it). Every access from the kernel goes through a bounds check: arena contents
// are untrusted input.
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Kernel.Host;

internal sealed unsafe class ArenaMapping : IDisposable
{
    public int ArenaFd { get; private set; } = -1;
    public int KernelPageFd { get; private set; } = -1;
    public int KernelPageReadOnlyFd { get; private set; } = -1;
    public long Size { get; }
    private byte* _arena;
    private KernelPage* _kpage;

    private ArenaMapping(long size) => Size = size;

    public static ArenaMapping Create(string name, long size)
    {
        var m = new ArenaMapping(size);
        try
        {
            // Never executable: the arena is a file of a noexec tmpfs (ArenaFs), so no mapping
            // of it can ever be executable (docs/confinement.md); a memfd where there is none.
            m.ArenaFd = ArenaFs.Create() is var fd and >= 0 ? fd
                : Check(Native.memfd_create("bulkhead-arena:" + name, Native.MFD_CLOEXEC | Native.MFD_NOEXEC_SEAL), "memfd_create");
            Check(Native.ftruncate(m.ArenaFd, size), "ftruncate");
            m._arena = (byte*)CheckMap(Native.mmap(0, (nuint)size, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, m.ArenaFd, 0));
            m.KernelPageFd = Check(Native.memfd_create("bulkhead-kpage:" + name, Native.MFD_CLOEXEC | Native.MFD_NOEXEC_SEAL), "memfd_create");
            Check(Native.ftruncate(m.KernelPageFd, ChannelLayout.KernelPageSize), "ftruncate");
            m._kpage = (KernelPage*)CheckMap(Native.mmap(0, ChannelLayout.KernelPageSize, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, m.KernelPageFd, 0));
            // A second, read-only open of the same memfd: the process can never map it writable.
            m.KernelPageReadOnlyFd = Check(Native.open($"/proc/self/fd/{m.KernelPageFd}", Native.O_RDONLY | Native.O_CLOEXEC, 0), "open kpage");
            // Sealed against every future write and writable mapping: a process that reopens its
            // descriptor read-write (through /proc/self/fd/4) still cannot change the page. The
            // kernel's own mapping above stays writable.
            Check(Native.fcntl(m.KernelPageFd, Native.F_ADD_SEALS, Native.F_SEAL_FUTURE_WRITE | Native.F_SEAL_SHRINK | Native.F_SEAL_GROW | Native.F_SEAL_SEAL), "seal kpage");
            m._kpage->ArenaSize = size;
            return m;
        }
        catch
        {
            m.Dispose();
            throw;
        }
    }

    public ref KernelPage Page => ref *_kpage;

    public ref TrapRequest Request => ref *(TrapRequest*)_arena;

    /// <summary>Copies the current request out of the trap page (one read, then it is ours).</summary>
    public TrapRequest ReadRequest() => *(TrapRequest*)_arena;

    public uint RequestSeq => Volatile.Read(ref ((TrapRequest*)_arena)->Seq);

    public bool Contains(long offset, long length) =>
        offset >= 0 && length >= 0 && offset <= Size && length <= Size - offset;

    /// <summary>A view of [offset, offset+length) or false when it leaves the arena.</summary>
    public bool TrySlice(long offset, long length, out Span<byte> span)
    {
        if (!Contains(offset, length) || length > int.MaxValue) { span = default; return false; }
        span = new Span<byte>(_arena + offset, (int)length);
        return true;
    }

    public bool TryRead<T>(long offset, out T value) where T : unmanaged
    {
        if (!Contains(offset, sizeof(T))) { value = default; return false; }
        value = *(T*)(_arena + offset);
        return true;
    }

    public bool TryWrite<T>(long offset, in T value) where T : unmanaged
    {
        if (!Contains(offset, sizeof(T))) return false;
        *(T*)(_arena + offset) = value;
        return true;
    }

    /// <summary>Publishes a reply: result and message first, then the sequence word, then a wake.</summary>
    public void PublishReply(uint seq, int result, in Message msg, bool withMessage)
    {
        _kpage->Result = result;
        if (withMessage) _kpage->Msg = msg;
        Volatile.Write(ref _kpage->ReplySeq, seq);
        Native.FutexWake(&_kpage->ReplySeq, int.MaxValue);
    }

    /// <summary>One page of the arena at <paramref name="offset"/> (page aligned, inside the
    /// arena) as Memory for the DMA frame table. Valid only until Dispose: the kernel unmaps
    /// every frame of a process before it disposes the process's arena.</summary>
    public Memory<byte> PageMemory(long offset, int pageSize)
    {
        if (_arena == null || offset % pageSize != 0 || !Contains(offset, pageSize))
            throw new ArgumentOutOfRangeException(nameof(offset));
        return new NativePage(_arena + offset, pageSize).Memory;
    }

    private sealed class NativePage(byte* at, int length) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(at, length);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(at + elementIndex);

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }

    /// <summary>Closes the descriptors the child inherited copies of (the kernel's own copies).</summary>
    public void CloseChildOnlyFds()
    {
        if (KernelPageReadOnlyFd >= 0) { Native.close(KernelPageReadOnlyFd); KernelPageReadOnlyFd = -1; }
    }

    public void Dispose()
    {
        if (_arena != null) { Native.munmap((nint)_arena, (nuint)Size); _arena = null; }
        if (_kpage != null) { Native.munmap((nint)_kpage, ChannelLayout.KernelPageSize); _kpage = null; }
        if (ArenaFd >= 0) { Native.close(ArenaFd); ArenaFd = -1; }
        if (KernelPageFd >= 0) { Native.close(KernelPageFd); KernelPageFd = -1; }
        CloseChildOnlyFds();
    }

    private static int Check(int r, string what) =>
        r >= 0 ? r : throw new InvalidOperationException($"{what} failed (errno {Native.Errno})");

    private static nint CheckMap(nint p) =>
        p != -1 ? p : throw new InvalidOperationException($"mmap failed (errno {Native.Errno})");
}
