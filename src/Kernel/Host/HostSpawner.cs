// Creates the host process behind a Bulkhead process (ARCHITECTURE.md §1): posix_spawn from
// the kernel's loop thread, with exactly the channel descriptors at fixed numbers (3 arena,
// 4 read-only kernel page, 5 doorbell) and every other descriptor closed by O_CLOEXEC; signal
// mask cleared, handlers reset, and a process group of its own. A binary comes from a path or from an in-memory copy (a
// sealed memfd executed through /proc/self/fd, so no file system is touched). The process is
// watched with a pidfd; nothing here uses System.Diagnostics.Process, whose SIGCHLD handling
// would reap our children behind our back.
using System.Text;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Kernel.Host;

internal static unsafe class HostSpawner
{
    private const int TextBusy = 26; // ETXTBSY

    /// <summary>Spawns <paramref name="path"/> with the channel at its fixed numbers (3 arena,
    /// 4 read-only kernel page, 5 doorbell) and stdio; returns the host pid or a negative errno.</summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env,
                            int arenaFd, int kpageFd, int doorbellFd, int stdinFd, int stdoutFd, int imageFd = -1) =>
        Spawn(path, argv, env, Channel(arenaFd, kpageFd, doorbellFd, stdinFd, stdoutFd), imageFd);

    /// <summary>The descriptors of a component's channel and stdio: (kernel's, child's) pairs.</summary>
    public static (int Source, int Target)[] Channel(int arenaFd, int kpageFd, int doorbellFd, int stdinFd, int stdoutFd, int stderrFd = -1) =>
        [(arenaFd, ChannelLayout.ArenaFd), (kpageFd, ChannelLayout.KernelPageFd), (doorbellFd, ChannelLayout.DoorbellFd),
         (stdinFd, 0), (stdoutFd, 1), (stderrFd >= 0 ? stderrFd : stdoutFd, 2)];

    /// <summary>Spawns <paramref name="path"/> with exactly the descriptors <paramref name="fds"/>
    /// (each kernel descriptor Source at the child's number Target; a negative Source is
    /// skipped) and every other descriptor closed; returns the host pid or a negative errno.
    /// <paramref name="keepClear"/> is a descriptor the exec path names (/proc/self/fd/N), which
    /// the staging must not overwrite.</summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> env,
                            ReadOnlySpan<(int Source, int Target)> fds, int keepClear = -1)
    {
        byte* fa = stackalloc byte[Native.SpawnActionsSize];
        byte* attr = stackalloc byte[Native.SpawnAttrSize];
        byte* sigs = stackalloc byte[128];
        Native.posix_spawn_file_actions_init(fa);
        Native.posix_spawnattr_init(attr);
        try
        {
            // Stage every source above all sources and targets first, so that no dup2 clobbers
            // a source that is still to be copied, then move each to its number and close the stage.
            int stage = keepClear + 1;
            foreach (var (source, target) in fds) stage = Math.Max(stage, Math.Max(source, target) + 1);
            for (int i = 0; i < fds.Length; i++)
                if (fds[i].Source >= 0) Native.posix_spawn_file_actions_adddup2(fa, fds[i].Source, stage + i);
            for (int i = 0; i < fds.Length; i++)
                if (fds[i].Source >= 0) Native.posix_spawn_file_actions_adddup2(fa, stage + i, fds[i].Target);
            for (int i = 0; i < fds.Length; i++)
                if (fds[i].Source >= 0) Native.posix_spawn_file_actions_addclose(fa, stage + i);
            Native.sigemptyset(sigs);
            Native.posix_spawnattr_setsigmask(attr, sigs);
            Native.sigfillset(sigs);
            Native.posix_spawnattr_setsigdefault(attr, sigs);
            // Its own process group: a terminal's Ctrl-C reaches the kernel, which then stops
            // the components in order; it never hits a component directly.
            Native.posix_spawnattr_setpgroup(attr, 0);
            Native.posix_spawnattr_setflags(attr, Native.POSIX_SPAWN_SETSIGMASK | Native.POSIX_SPAWN_SETSIGDEF | Native.POSIX_SPAWN_SETPGROUP);

            using var strings = new CStrings();
            byte* cpath = strings.Add(path);
            byte** cargv = strings.Array(argv);
            byte** cenv = strings.Array(env);
            int pid = 0;
            int r = 0;
            // ETXTBSY: a process spawned concurrently by another thread may briefly hold a
            // copy of a writable descriptor of the image until its own exec; try again.
            for (int attempt = 0; attempt < 20; attempt++)
            {
                r = Native.posix_spawn(&pid, cpath, fa, attr, cargv, cenv);
                if (r != TextBusy) break;
                Thread.Sleep(1 + attempt);
            }
            return r == 0 ? pid : -r;
        }
        finally
        {
            Native.posix_spawn_file_actions_destroy(fa);
            Native.posix_spawnattr_destroy(attr);
        }
    }

    /// <summary>Makes an executable memfd holding <paramref name="image"/>; the descriptor
    /// returned is read-only, so nothing holds the image open for writing at exec time.</summary>
    public static int MemoryImage(string name, ReadOnlySpan<byte> image)
    {
        int rw = Native.memfd_create("bulkhead-image:" + name, Native.MFD_CLOEXEC);
        if (rw < 0) return -Native.Errno;
        int written = WriteAll(rw, image);
        if (written < 0)
        {
            Native.close(rw);
            return written;
        }
        int ro = Native.open($"/proc/self/fd/{rw}", Native.O_RDONLY | Native.O_CLOEXEC, 0);
        int err = Native.Errno;
        Native.close(rw);
        return ro >= 0 ? ro : -err;
    }

    private static int WriteAll(int fd, ReadOnlySpan<byte> image)
    {
        fixed (byte* p = image)
        {
            long done = 0;
            while (done < image.Length)
            {
                nint n = Native.write(fd, p + done, (nuint)(image.Length - done));
                if (n <= 0) return -Native.Errno;
                done += n;
            }
        }
        return 0;
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
