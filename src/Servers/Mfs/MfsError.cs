// Outcomes of MFS operations. Every engine call returns an MfsError; None (0) is success and
// counts travel in out parameters. The numbers are the POSIX errno values MINIX and Linux share
// (ENOENT = 2 … ELOOP = 40), so the MFS server replies with -(int)error, the same number as the
// Err constant of src/Lib/Ipc. Append-only.
namespace Bulkhead.Servers.Mfs;

public enum MfsError
{
    None = 0,
    EPERM = 1,
    ENOENT = 2,
    EIO = 5,
    EACCES = 13,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EFBIG = 27,
    ENOSPC = 28,
    EROFS = 30,
    EMLINK = 31,
    ENAMETOOLONG = 36,
    ENOTEMPTY = 39,
    ELOOP = 40,
}
