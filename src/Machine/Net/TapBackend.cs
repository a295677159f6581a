// A NIC backend on a Linux TAP interface: opens /dev/net/tun, attaches to (or creates) the named
// interface with TUNSETIFF(IFF_TAP | IFF_NO_PI), so each read is one whole Ethernet frame and
// each write puts one on the interface. A dedicated reader thread polls the fd with a short
// timeout and hands each frame to the attached receiver, padded with zeros to the Ethernet
// minimum of 60 bytes (without FCS) the way the sender's card would put it on a wire: Linux
// hands a TAP its frames as its stack built them (an ARP request is 42 bytes), and a card such
// as the NE2000 drops runts unless told to accept them (RCR.AR). Dispose stops that thread, waits for
// it, then closes the fd (in that order, so the thread never reads a closed or reused fd).
// Needs CAP_NET_ADMIN (or an interface already owned by the caller).
using System.Runtime.InteropServices;
using System.Text;

namespace Bulkhead.Machine.Net;

public sealed unsafe class TapBackend : INicBackend
{
    private const string TunPath = "/dev/net/tun";
    private const nuint TUNSETIFF = 0x400454CA;
    private const short IFF_TAP = 0x0002;
    private const short IFF_NO_PI = 0x1000;
    private const int IfNameSize = 16;
    private const int IfReqSize = 40;
    private const int PollTimeoutMs = 100;
    private const int MaxFrame = 65536;
    /// <summary>The shortest frame on an Ethernet wire, without its FCS.</summary>
    private const int MinWireFrame = 60;

    private readonly object _lock = new();
    private readonly object _sendLock = new();
    private readonly Thread _reader;
    private int _fd;
    private volatile bool _stopping;
    private Action<ReadOnlySpan<byte>>? _receiver;

    public string InterfaceName { get; }

    public TapBackend(string interfaceName)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        byte[] name = Encoding.ASCII.GetBytes(interfaceName);
        if (name.Length >= IfNameSize)
            throw new ArgumentException($"interface name '{interfaceName}' is longer than {IfNameSize - 1} bytes", nameof(interfaceName));

        int fd = LinuxNative.Open(TunPath, LinuxNative.O_RDWR | LinuxNative.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                LinuxNative.ENOENT or LinuxNative.ENODEV or LinuxNative.ENXIO => new InvalidOperationException(
                    $"{TunPath} is missing (errno {errno}): load the tun module or pass the device into the container"),
                LinuxNative.EACCES or LinuxNative.EPERM => new UnauthorizedAccessException(
                    $"{TunPath} is not permitted (errno {errno}): run as root or with CAP_NET_ADMIN"),
                _ => new IOException($"open {TunPath} failed: errno {errno}"),
            };
        }

        byte* ifr = stackalloc byte[IfReqSize];
        new Span<byte>(ifr, IfReqSize).Clear();
        name.CopyTo(new Span<byte>(ifr, IfNameSize));
        *(short*)(ifr + IfNameSize) = IFF_TAP | IFF_NO_PI;
        if (LinuxNative.Ioctl(fd, TUNSETIFF, ifr) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LinuxNative.Close(fd);
            throw errno switch
            {
                LinuxNative.EPERM or LinuxNative.EACCES => new UnauthorizedAccessException(
                    $"TUNSETIFF '{interfaceName}' is not permitted (errno {errno}): needs CAP_NET_ADMIN or an interface owned by this user"),
                LinuxNative.EBUSY => new IOException($"TUNSETIFF '{interfaceName}': interface is busy or is not a TAP (errno {errno})"),
                _ => new IOException($"TUNSETIFF '{interfaceName}' failed: errno {errno}"),
            };
        }

        _fd = fd;
        InterfaceName = interfaceName;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"tap {interfaceName}" };
        _reader.Start();
    }

    public void Attach(Action<ReadOnlySpan<byte>> receiver)
    {
        lock (_lock) _receiver = receiver;
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty) return;
        lock (_sendLock)
        {
            if (_stopping) return;
            fixed (byte* p = frame)
            {
                nint n;
                do n = LinuxNative.Write(_fd, p, (nuint)frame.Length);
                while (n < 0 && Marshal.GetLastPInvokeError() == LinuxNative.EINTR);
                // A failed write (interface down, queue full) is a frame lost on the wire.
            }
        }
    }

    private void ReadLoop()
    {
        byte[] buffer = new byte[MaxFrame];
        var pfd = new LinuxNative.PollFd { Fd = _fd, Events = LinuxNative.POLLIN };
        while (!_stopping)
        {
            pfd.Revents = 0;
            int r = LinuxNative.Poll(&pfd, 1, PollTimeoutMs);
            if (r < 0)
            {
                if (Marshal.GetLastPInvokeError() == LinuxNative.EINTR) continue;
                return;
            }
            if (r == 0) continue;
            if ((pfd.Revents & (LinuxNative.POLLERR | LinuxNative.POLLHUP | LinuxNative.POLLNVAL)) != 0
                && (pfd.Revents & LinuxNative.POLLIN) == 0)
                return;
            if (_stopping) return;

            nint n;
            fixed (byte* p = buffer) n = LinuxNative.Read(_fd, p, (nuint)buffer.Length);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is LinuxNative.EINTR or LinuxNative.EAGAIN) continue;
                return;
            }
            if (n == 0) continue;
            if (n < MinWireFrame)
            {
                Array.Clear(buffer, (int)n, MinWireFrame - (int)n);
                n = MinWireFrame;
            }

            Action<ReadOnlySpan<byte>>? rcv;
            lock (_lock) rcv = _receiver;
            rcv?.Invoke(new ReadOnlySpan<byte>(buffer, 0, (int)n));
        }
    }

    public void Dispose()
    {
        lock (_sendLock)
        {
            if (_stopping) return;
            _stopping = true;
        }
        lock (_lock) _receiver = null;
        if (Thread.CurrentThread != _reader) _reader.Join();
        LinuxNative.Close(_fd);
        _fd = -1;
    }
}
