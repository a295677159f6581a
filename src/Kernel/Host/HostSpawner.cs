// Creates the host process behind a Bulkhead process (ARCHITECTURE.md §1): posix_spawn from
// the kernel's loop thread, with exactly the channel descriptors at fixed numbers (3 arena,
// 4 read-only kernel page, 5 doorbell) and every other descriptor closed by O_CLOEXEC; signal
// mask cleared and handlers reset. A binary comes from a path or from an in-memory copy (a
// sealed memfd executed through /proc/self/fd, so no file system is touched). The process is
// watched with a pidfd; nothing here uses System.Diagnostics.Process, whose SIGCHLD handling
// would reap our children behind our back.
using System.Text;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Kernel.Host;

internal static unsafe class HostSpawner
{
    private const int StageFd = 200;

    /// <summary>Spawns <paramref name="path"/>; returns the host pid or a negative errno.</summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env,
                            int arenaFd, int kpageFd, int doorbellFd, int stdinFd, int stdoutFd)
    {
        byte* fa = stackalloc byte[Native.SpawnActionsSize];
        byte* attr = stackalloc byte[Native.SpawnAttrSize];
        byte* sigs = stackalloc byte[128];
        Native.posix_spawn_file_actions_init(fa);
        Native.posix_spawnattr_init(attr);
        try
        {
            // Stage through high numbers first so that a source fd of 3..5 cannot be clobbered.
            Native.posix_spawn_file_actions_adddup2(fa, arenaFd, StageFd);
            Native.posix_spawn_file_actions_adddup2(fa, kpageFd, StageFd + 1);
            Native.posix_spawn_file_actions_adddup2(fa, doorbellFd, StageFd + 2);
            Native.posix_spawn_file_actions_adddup2(fa, StageFd, ChannelLayout.ArenaFd);
            Native.posix_spawn_file_actions_adddup2(fa, StageFd + 1, ChannelLayout.KernelPageFd);
            Native.posix_spawn_file_actions_adddup2(fa, StageFd + 2, ChannelLayout.DoorbellFd);
            if (stdinFd >= 0) Native.posix_spawn_file_actions_adddup2(fa, stdinFd, 0);
            if (stdoutFd >= 0)
            {
                Native.posix_spawn_file_actions_adddup2(fa, stdoutFd, 1);
                Native.posix_spawn_file_actions_adddup2(fa, stdoutFd, 2);
            }
            Native.sigemptyset(sigs);
            Native.posix_spawnattr_setsigmask(attr, sigs);
            Native.sigfillset(sigs);
            Native.posix_spawnattr_setsigdefault(attr, sigs);
            Native.posix_spawnattr_setflags(attr, Native.POSIX_SPAWN_SETSIGMASK | Native.POSIX_SPAWN_SETSIGDEF);

            using var strings = new CStrings();
            byte* cpath = strings.Add(path);
            byte** cargv = strings.Array(argv);
            byte** cenv = strings.Array(env);
            int pid;
            int r = Native.posix_spawn(&pid, cpath, fa, attr, cargv, cenv);
            return r == 0 ? pid : -r;
        }
        finally
        {
            Native.posix_spawn_file_actions_destroy(fa);
            Native.posix_spawnattr_destroy(attr);
        }
    }

    /// <summary>Makes an executable memfd holding <paramref name="image"/>.</summary>
    public static int MemoryImage(string name, ReadOnlySpan<byte> image)
    {
        int fd = Native.memfd_create("bulkhead-image:" + name, Native.MFD_CLOEXEC);
        if (fd < 0) return -Native.Errno;
        fixed (byte* p = image)
        {
            long done = 0;
            while (done < image.Length)
            {
                nint n = Native.write(fd, p + done, (nuint)(image.Length - done));
                if (n <= 0) { Native.close(fd); return -Native.Errno; }
                done += n;
            }
        }
        return fd;
    }

    /// <summary>Native strings that live until disposed.</summary>
    private sealed class CStrings : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public byte* Add(string s)
        {
            int n = Encoding.UTF8.GetByteCount(s);
            var p = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)n + 1);
            Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
            p[n] = 0;
            _blocks.Add((nint)p);
            return p;
        }

        public byte** Array(IReadOnlyList<string> items)
        {
            var arr = (byte**)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(items.Count + 1) * (nuint)sizeof(nint));
            _blocks.Add((nint)arr);
            for (int i = 0; i < items.Count; i++) arr[i] = Add(items[i]);
            arr[items.Count] = null;
            return arr;
        }

        public void Dispose()
        {
            foreach (var b in _blocks) System.Runtime.InteropServices.NativeMemory.Free((void*)b);
        }
    }
}
