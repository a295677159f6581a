// The words a user reads for an Err code, as C's strerror gives them, followed by the code's
// name: "No such file or directory (ENOENT)". Codes without words print their name alone.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Commands.FileTools;

public static class ErrText
{
    private static readonly Dictionary<int, string> s_words = new()
    {
        [Err.EPERM] = "Operation not permitted",
        [Err.ENOENT] = "No such file or directory",
        [Err.EIO] = "Input/output error",
        [Err.ENXIO] = "No such device or address",
        [Err.EBADF] = "Bad file descriptor",
        [Err.ENOMEM] = "Cannot allocate memory",
        [Err.EACCES] = "Permission denied",
        [Err.EBUSY] = "Device or resource busy",
        [Err.EEXIST] = "File exists",
        [Err.EXDEV] = "Invalid cross-device link",
        [Err.ENODEV] = "No such device",
        [Err.ENOTDIR] = "Not a directory",
        [Err.EISDIR] = "Is a directory",
        [Err.EINVAL] = "Invalid argument",
        [Err.ENFILE] = "Too many open files in system",
        [Err.EMFILE] = "Too many open files",
        [Err.EFBIG] = "File too large",
        [Err.ENOSPC] = "No space left on device",
        [Err.ESPIPE] = "Illegal seek",
        [Err.EROFS] = "Read-only file system",
        [Err.EMLINK] = "Too many links",
        [Err.EPIPE] = "Broken pipe",
        [Err.ENAMETOOLONG] = "File name too long",
        [Err.ENOSYS] = "Function not implemented",
        [Err.ENOTEMPTY] = "Directory not empty",
        [Err.ELOOP] = "Too many levels of symbolic links",
        [Err.ESRCH] = "No such process (no file system server)",
        [Err.EDEADSRCDST] = "The file system server died",
    };

    public static string Of(int err) =>
        s_words.TryGetValue(err, out var words) ? $"{words} ({Err.Name(err)})" : Err.Name(err);
}
