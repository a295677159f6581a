// Passing descriptors over a Unix-domain stream socket (SCM_RIGHTS): `./bulkhead run` hands its
// stdin, stdout and stderr to the kernel with its request, so the program it starts reads and
// writes the user's terminal, pipe or file directly (docs/boot.md, "run").
using System.Runtime.InteropServices;

namespace Bulkhead.Lib.Host;

public static unsafe partial class Native
{
    /// <summary>Descriptors one message may carry here.</summary>
    public const int MaxPassedFds = 4;

    // struct cmsghdr is 16 bytes on x86-64; its data is 8-byte aligned.
    private static int CmsgSpace(int dataBytes) => sizeof(CmsgHdr) + ((dataBytes + 7) & ~7);

    [LibraryImport(Libc, SetLastError = true)]
    private static partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    /// <summary>Sends <paramref name="data"/> with <paramref name="fds"/> attached; bytes sent or -errno.</summary>
    public static int SendWithFds(int socket, ReadOnlySpan<byte> data, ReadOnlySpan<int> fds)
    {
        if (fds.Length is 0 or > MaxPassedFds || data.IsEmpty) return -22;
        int space = CmsgSpace(fds.Length * 4);
        byte* control = stackalloc byte[CmsgSpace(MaxPassedFds * 4)];
        new Span<byte>(control, space).Clear();
        var h = (CmsgHdr*)control;
        h->Len = (nuint)(sizeof(CmsgHdr) + fds.Length * 4);
        h->Level = SOL_SOCKET;
        h->Type = SCM_RIGHTS;
        for (int i = 0; i < fds.Length; i++) ((int*)(control + sizeof(CmsgHdr)))[i] = fds[i];
        fixed (byte* p = data)
        {
            var iov = new IoVec { Base = p, Length = (nuint)data.Length };
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = (nuint)space };
            nint n = sendmsg(socket, &msg, 0);
            return n < 0 ? -Marshal.GetLastPInvokeError() : (int)n;
        }
    }

    /// <summary>Receives into <paramref name="buffer"/>; descriptors that came with it (close-on-exec)
    /// are added to <paramref name="fds"/> up to MaxPassedFds, the rest closed. Bytes or -errno.</summary>
    public static int ReceiveWithFds(int socket, Span<byte> buffer, List<int> fds)
    {
        const int controlBytes = 128;
        byte* control = stackalloc byte[controlBytes];
        new Span<byte>(control, controlBytes).Clear();
        fixed (byte* p = buffer)
        {
            var iov = new IoVec { Base = p, Length = (nuint)buffer.Length };
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = controlBytes };
            nint n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
            if (n < 0) return -Marshal.GetLastPInvokeError();
            for (nuint at = 0; at + (nuint)sizeof(CmsgHdr) <= msg.ControlLen;)
            {
                var h = (CmsgHdr*)(control + at);
                if (h->Len < (nuint)sizeof(CmsgHdr) || at + h->Len > msg.ControlLen) break;
                if (h->Level == SOL_SOCKET && h->Type == SCM_RIGHTS)
                {
                    int count = (int)(h->Len - (nuint)sizeof(CmsgHdr)) / 4;
                    for (int i = 0; i < count; i++)
                    {
                        int fd = ((int*)(control + at + (nuint)sizeof(CmsgHdr)))[i];
                        if (fds.Count < MaxPassedFds) fds.Add(fd);
                        else close(fd);
                    }
                }
                at += (nuint)CmsgSpace((int)h->Len - sizeof(CmsgHdr));
            }
            return (int)n;
        }
    }
}
