// Bindings the kernel's host confinement needs (Kernel/Host/Jail): descriptor passing, poll,
// file locks and seals, and the seccomp user-notification ioctls.
using System.Runtime.InteropServices;

namespace Bulkhead.Lib.Host;

public static unsafe partial class Native
{
    public const int AF_UNIX = 1;
    public const int SOCK_SEQPACKET = 5;
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;
    public const short POLLIN = 1;
    public const int O_CREAT = 0x40;
    public const int O_NONBLOCK = 0x800;
    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;
    public const int F_ADD_SEALS = 1033;
    public const int F_SEAL_SEAL = 1;
    public const int F_SEAL_SHRINK = 2;
    public const int F_SEAL_GROW = 4;
    public const int F_SEAL_WRITE = 8;
    public const int F_SEAL_FUTURE_WRITE = 16;
    public const uint MFD_NOEXEC_SEAL = 8;
    public const int ECHILD = 10;
    public const int ENOENT = 2;
    public const int ETIMEDOUT = 110;

    // seccomp user notification (linux/seccomp.h)
    public const uint SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100;
    public const uint SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CmsgHdr
    {
        public nuint Len;
        public int Level;
        public int Type;
    }

    /// <summary>struct seccomp_notif: 80 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SeccompNotif
    {
        public ulong Id;
        public uint Pid;
        public uint Flags;
        public int Nr;
        public uint Arch;
        public ulong InstructionPointer;
        public fixed ulong Args[6];
    }

    /// <summary>struct seccomp_notif_resp: 24 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SeccompNotifResp
    {
        public ulong Id;
        public long Val;
        public int Error;
        public uint Flags;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint n, int timeoutMs);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport(Libc)]
    public static partial uint geteuid();

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(int dirfd, string path, int flags, int mode);
}
