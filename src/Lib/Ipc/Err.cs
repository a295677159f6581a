// Result codes. System code returns them negated (MINIX's convention: OK is 0, errors < 0).
// The numbers are MINIX's and are append-only.
namespace Bulkhead.Lib.Ipc;

public static class Err
{
    public const int Ok = 0;
    public const int EPERM = -1;
    public const int ENOENT = -2;
    public const int ESRCH = -3;
    public const int EINTR = -4;
    public const int EIO = -5;
    public const int ENXIO = -6;
    public const int EBADF = -9;
    public const int E2BIG = -7;
    public const int ENOEXEC = -8;
    public const int EAGAIN = -11;
    public const int ENOMEM = -12;
    public const int EACCES = -13;
    public const int EFAULT = -14;
    public const int EBUSY = -16;
    public const int EEXIST = -17;
    public const int ENODEV = -19;
    public const int EINVAL = -22;
    public const int ENOTTY = -25;
    public const int ENOSPC = -28;
    public const int EDOM = -33;
    public const int ERANGE = -34;
    public const int ENOSYS = -38;
    public const int ELOOP = -40;
    // Socket errors (Linux numbers, as the rest): the network server's answers to programs.
    public const int ENOTSOCK = -88;
    public const int EMSGSIZE = -90;
    public const int EADDRINUSE = -98;
    public const int ENETUNREACH = -101;
    public const int ECONNRESET = -104;
    public const int ENOBUFS = -105;
    public const int EISCONN = -106;
    public const int ENOTCONN = -107;
    public const int ECONNREFUSED = -111;
    public const int EHOSTUNREACH = -113;
    public const int EALREADY = -114;
    public const int EINPROGRESS = -115;
    public const int EPIPE = -32;
    public const int ETIMEDOUT = -110;

    public const int ERESTART = -200;
    public const int ENOTREADY = -201;
    public const int EDEADSRCDST = -202;
    public const int EDONTREPLY = -203;
    public const int ELOCKED = -208;
    public const int EBADCALL = -209;
    public const int ECALLDENIED = -210;
    public const int ETRAPDENIED = -211;
    public const int EBADREQUEST = -212;
    public const int EDEADEPT = -215;
    public const int EBADEPT = -216;

    public static string Name(int code) => code switch
    {
        Ok => "OK",
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EINTR => "EINTR",
        EIO => "EIO",
        ENXIO => "ENXIO",
        EBADF => "EBADF",
        EACCES => "EACCES",
        E2BIG => "E2BIG",
        ENOEXEC => "ENOEXEC",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ENOTTY => "ENOTTY",
        ENOSPC => "ENOSPC",
        EDOM => "EDOM",
        ERANGE => "ERANGE",
        ENOSYS => "ENOSYS",
        ELOOP => "ELOOP",
        ENOTSOCK => "ENOTSOCK",
        EMSGSIZE => "EMSGSIZE",
        EADDRINUSE => "EADDRINUSE",
        ENETUNREACH => "ENETUNREACH",
        ECONNRESET => "ECONNRESET",
        ENOBUFS => "ENOBUFS",
        EISCONN => "EISCONN",
        ENOTCONN => "ENOTCONN",
        ECONNREFUSED => "ECONNREFUSED",
        EHOSTUNREACH => "EHOSTUNREACH",
        EALREADY => "EALREADY",
        EINPROGRESS => "EINPROGRESS",
        EPIPE => "EPIPE",
        ETIMEDOUT => "ETIMEDOUT",
        ERESTART => "ERESTART",
        ENOTREADY => "ENOTREADY",
        EDEADSRCDST => "EDEADSRCDST",
        EDONTREPLY => "EDONTREPLY",
        ELOCKED => "ELOCKED",
        EBADCALL => "EBADCALL",
        ECALLDENIED => "ECALLDENIED",
        ETRAPDENIED => "ETRAPDENIED",
        EBADREQUEST => "EBADREQUEST",
        EDEADEPT => "EDEADEPT",
        EBADEPT => "EBADEPT",
        _ => code.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
