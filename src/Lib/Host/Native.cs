// Bindings to the Linux host: the few system calls Bulkhead's kernel and component library
// need. This is the only place besides the arena mappings where the project talks to libc.
// libc's syscall() is variadic, so it is declared with fixed nint arguments
// (docs/reference.md, "The host and .NET").
using System.Runtime.InteropServices;

namespace Bulkhead.Lib.Host;

public static unsafe partial class Native
{
    private const string Libc = "libc";

    public const int SYS_futex = 202;
    public const int SYS_pidfd_send_signal = 424;
    public const int SYS_pidfd_open = 434;
    public const int FUTEX_WAIT = 0;
    public const int FUTEX_WAKE = 1;

    public const int EINTR = 4;
    public const int EAGAIN = 11;

    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_SHARED = 1;

    public const uint MFD_CLOEXEC = 1;
    public const uint MFD_ALLOW_SEALING = 2;
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_CLOEXEC = 0x80000;

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const uint EPOLLIN = 1;
    public const uint EPOLLERR = 8;
    public const uint EPOLLHUP = 16;
    public const uint EPOLLET = 1u << 31;

    public const int P_PIDFD = 3;
    public const int WEXITED = 4;
    public const int WNOHANG = 1;
    public const int CLD_EXITED = 1;
    public const int CLD_KILLED = 2;
    public const int CLD_DUMPED = 3;

    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int PR_SET_PDEATHSIG = 1;
    public const int PRIO_PROCESS = 0;
    public const int SCHED_OTHER = 0;
    public const int SCHED_IDLE = 5;

    public const int POSIX_SPAWN_SETSIGMASK = 0x08;
    public const int POSIX_SPAWN_SETSIGDEF = 0x04;
    public const int POSIX_SPAWN_SETSID = 0x80;
    public const int POSIX_SPAWN_SETPGROUP = 0x02;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential, Size = 128)]
    public struct SigInfo
    {
        public int Signo;
        public int Errno;
        public int Code;
        public int Pad;
        public int Pid;
        public int Uid;
        public int Status;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint syscall(nint number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    public const int CLOCK_MONOTONIC = 1;
    public const int TFD_TIMER_ABSTIME = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct ITimerSpec
    {
        public Timespec Interval;
        public Timespec Value;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int timerfd_create(int clockid, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int timerfd_settime(int fd, int flags, ITimerSpec* newValue, ITimerSpec* oldValue);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int waitid(int idtype, int id, SigInfo* info, int options);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int prctl(int option, nint arg2, nint arg3, nint arg4, nint arg5);

    [LibraryImport(Libc)]
    public static partial int getppid();

    [LibraryImport(Libc)]
    public static partial int getpid();

    [LibraryImport(Libc)]
    public static partial int gettid();

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    /// <summary>signal(2); handler 0 = SIG_DFL, 1 = SIG_IGN.</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint signal(int sig, nint handler);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int setpriority(int which, int who, int prio);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sched_setscheduler(int pid, int policy, int* param);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sched_setaffinity(int pid, nuint size, ulong* mask);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int clock_gettime(int clockid, Timespec* ts);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sched_yield();

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int usleep(uint microseconds);

    // posix_spawn and its attribute/file-action objects (opaque; sizes from glibc x86-64
    // rounded up generously).
    public const int SpawnAttrSize = 512;
    public const int SpawnActionsSize = 256;

    [LibraryImport(Libc)]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    /// <summary>Replaces this process's program; returns (-1, errno set) only on failure.</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int execve(byte* path, byte** argv, byte** envp);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_init(void* fa);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_destroy(void* fa);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_adddup2(void* fa, int fd, int newfd);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addclose(void* fa, int fd);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setpgroup(void* attr, int pgroup);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport(Libc)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Libc)]
    public static partial int sigfillset(void* set);

    public static int Errno => Marshal.GetLastPInvokeError();

    // ---- thin helpers ----

    public static int FutexWait(uint* addr, uint expected) =>
        (int)syscall(SYS_futex, (nint)addr, FUTEX_WAIT, (nint)expected, 0, 0, 0);

    public static int FutexWake(uint* addr, int count) =>
        (int)syscall(SYS_futex, (nint)addr, FUTEX_WAKE, count, 0, 0, 0);

    public static int PidfdOpen(int pid) => (int)syscall(SYS_pidfd_open, pid, 0, 0, 0, 0, 0);

    public static int PidfdSendSignal(int pidfd, int sig) =>
        (int)syscall(SYS_pidfd_send_signal, pidfd, sig, 0, 0, 0, 0);

    /// <summary>Monotonic time in nanoseconds.</summary>
    public static long MonotonicNs()
    {
        Timespec ts;
        clock_gettime(1, &ts);
        return ts.Sec * 1_000_000_000 + ts.Nsec;
    }

    /// <summary>CPU time consumed by a whole process, in nanoseconds; -1 if it is gone.</summary>
    public static long ProcessCpuNs(int pid)
    {
        // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED): any process's clock may be read.
        int clock = (~pid << 3) | 2;
        Timespec ts;
        return clock_gettime(clock, &ts) == 0 ? ts.Sec * 1_000_000_000 + ts.Nsec : -1;
    }

    public static void WriteEventfd(int fd)
    {
        ulong one = 1;
        write(fd, &one, 8);
    }

    public static ulong ReadEventfd(int fd)
    {
        ulong v = 0;
        return read(fd, &v, 8) == 8 ? v : 0;
    }
}
