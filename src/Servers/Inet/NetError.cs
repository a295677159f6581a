// Outcomes of socket calls that are not a count of bytes. Socket calls return an int: zero or
// more is a count, a negative value is -(int)NetError. The server maps these to MINIX errno
// values for programs.
namespace Bulkhead.Servers.Inet;

public enum NetError
{
    None = 0,
    WouldBlock = 1,
    ConnectionRefused = 2,
    ConnectionReset = 3,
    TimedOut = 4,
    AddressInUse = 5,
    NotConnected = 6,
    AlreadyConnected = 7,
    InvalidArgument = 8,
    NoRoute = 9,
    MessageTooLong = 10,
    NoBuffers = 11,
    Shutdown = 12,
    HostUnreachable = 13,
    Closed = 14,
}

public static class NetResult
{
    public static int Of(NetError e) => -(int)e;
    public static bool IsError(int r) => r < 0;
    public static NetError ErrorOf(int r) => r < 0 ? (NetError)(-r) : NetError.None;
}
