// Protocol between programs and VFS (docs/vfs.md): POSIX's file calls, one request each, always a
// SENDREC from the program. Paths and data move through grants the program made to VFS: a path
// is Grant.Read of Length bytes (no NUL; at most VfsCall.PathMax), data to write is Grant.Read,
// a buffer to fill is Grant.Write. The answer's m_type is OK, a count, a new descriptor, or a
// negative Err; calls with more to say put it in the reply's payload. VFS keeps the descriptors
// (per endpoint, at most MaxFdsPerProcess; open files at most MaxOpenFiles in all), the offsets,
// the working directory and the mount table; the file servers behind it only see inodes (FsCall).
// A call that cannot complete yet (read of an empty pipe, write into a full one) is answered
// later: the program simply stays blocked in its SENDREC. If VFS dies meanwhile, the kernel ends
// the SENDREC with EDEADSRCDST. A file server that dies makes the calls on its mount EIO until
// RS has restarted it and VFS has mounted it again (its old open files stay EIO).
//   Open     (Grant/Length = path, Flags = O_*, Mode = permission bits for O_CREAT) → fd
//   Close    (Fd) → OK
//   Read     (Fd, Grant/Length = buffer) → count (0 = end of file); at the open file's offset
//   Write    (Fd, Grant/Length = data) → count; O_APPEND writes at the end
//   Lseek    (Fd, Position, Flags = whence SEEK_SET/CUR/END) → OK, VfsPositionReply
//   PRead, PWrite (Fd, Position, Grant/Length) → count; the offset stays (ESPIPE on a pipe)
//   Stat, LStat (Grant/Length = path) → OK, VfsStatReply (LStat: a link itself); FStat (Fd)
//   GetDents (Fd = open directory, Grant/Length = buffer) → bytes of FsDirent records (0: the end)
//   Mkdir    (path, Mode) → OK.  Rmdir, Unlink (path) → OK.  Mknod (path, Mode = type|bits, Rdev)
//   Rename   (Grant/Length = old path, Grant2/Length2 = new path) → OK (replaces the new name)
//   Link     (old path, Grant2 = new path) → OK.  Symlink (Grant = target, Grant2 = new path)
//   ReadLink (path, Grant2/Length2 = buffer) → count of bytes of the target
//   Chdir    (path) → OK.  Fchdir (Fd) → OK.  Chmod (path, Mode) → OK.
//   Chown    (path, Owner, Group) → OK.  Truncate (path, Position) → OK.  Ftruncate (Fd, Position)
//   Fsync    (Fd) → OK (the file server's Sync).  Sync → OK (every mount).
//   Dup      (Fd) → the lowest free fd.  Dup2 (Fd, Fd2) → Fd2 (closed first if open)
//   Pipe     → OK, VfsPipeReply (read end, write end)
//   Mount    (Grant/Length = device path, Grant2/Length2 = mount point, Grant3/Length3 = the
//            file server's label, Flags = MountReadOnly) → OK. The device is a block special file
//            (its major and minor name the block driver, docs/vfs.md) or "LABEL:MINOR".
//   Umount   (Grant/Length = mount point) → OK; EBUSY while files on it are open
//   StatFs   (Grant/Length = a path on the file system) → OK, FsStatFsReply
// Rules: message numbers are explicit and append-only; payloads are 56 bytes; nothing in a
// request is trusted (VFS checks every descriptor, length and grant before it changes anything).
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Vfs;

public static class VfsCall
{
    public const int Base = Protocols.Vfs;
    public const int Open = Base + 1;
    public const int Close = Base + 2;
    public const int Read = Base + 3;
    public const int Write = Base + 4;
    public const int Lseek = Base + 5;
    public const int PRead = Base + 6;
    public const int PWrite = Base + 7;
    public const int Stat = Base + 8;
    public const int LStat = Base + 9;
    public const int FStat = Base + 10;
    public const int GetDents = Base + 11;
    public const int Mkdir = Base + 12;
    public const int Rmdir = Base + 13;
    public const int Unlink = Base + 14;
    public const int Rename = Base + 15;
    public const int Link = Base + 16;
    public const int Symlink = Base + 17;
    public const int ReadLink = Base + 18;
    public const int Chdir = Base + 19;
    public const int Fchdir = Base + 20;
    public const int Chmod = Base + 21;
    public const int Chown = Base + 22;
    public const int Truncate = Base + 23;
    public const int Ftruncate = Base + 24;
    public const int Fsync = Base + 25;
    public const int Dup = Base + 26;
    public const int Dup2 = Base + 27;
    public const int Pipe = Base + 28;
    public const int Mount = Base + 29;
    public const int Umount = Base + 30;
    public const int Sync = Base + 31;
    public const int StatFs = Base + 32;
    public const int Mknod = Base + 33;

    /// <summary>The label VFS runs under (DS), which programs look up.</summary>
    public const string Label = "vfs";

    /// <summary>Descriptors one process may hold (EMFILE beyond).</summary>
    public const int MaxFdsPerProcess = 64;
    /// <summary>Open files of all processes together (ENFILE beyond).</summary>
    public const int MaxOpenFiles = 1024;
    /// <summary>Longest path (ENAMETOOLONG beyond), as FsCall.PathMax.</summary>
    public const int PathMax = 4096;
    /// <summary>Symbolic links one path walk follows at most (ELOOP beyond; MINIX SYMLOOP_MAX).</summary>
    public const int SymlinkMax = 8;
    /// <summary>Largest Read or Write of one request (a bigger Length is cut to this).</summary>
    public const int MaxTransfer = 256 * 1024;
    /// <summary>Bytes a pipe buffers.</summary>
    public const int PipeBuffer = 64 * 1024;
    /// <summary>Mounts at once, the root included.</summary>
    public const int MaxMounts = 16;

    // Open flags (Linux's values).
    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;
    public const int O_ACCMODE = 0x3;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_NONBLOCK = 0x800;
    public const int O_DIRECTORY = 0x10000;
    public const int O_NOFOLLOW = 0x20000;
    /// <summary>Every flag Open accepts (EINVAL for others).</summary>
    public const int OpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NONBLOCK | O_DIRECTORY | O_NOFOLLOW;

    // Lseek whence.
    public const int SeekSet = 0;
    public const int SeekCur = 1;
    public const int SeekEnd = 2;

    /// <summary>Mount flag: read-only (FsCall.MountReadOnly).</summary>
    public const int MountReadOnly = 0x1;

    /// <summary>Device numbers: major in bits 8..15, minor in 0..7 (MINIX).</summary>
    public static uint MakeDev(int major, int minor) => (uint)(((major & 0xFF) << 8) | (minor & 0xFF));
    public static int Major(uint dev) => (int)((dev >> 8) & 0xFF);
    public static int Minor(uint dev) => (int)(dev & 0xFF);
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct VfsRequest
{
    public int Fd;
    /// <summary>Dup2: the new descriptor.</summary>
    public int Fd2;
    /// <summary>Open: O_*; Lseek: whence; Mount: MountReadOnly.</summary>
    public int Flags;
    /// <summary>Open, Mkdir, Mknod, Chmod: mode bits.</summary>
    public int Mode;
    public int Grant;
    public int Length;
    public int Grant2;
    public int Length2;
    /// <summary>Lseek offset, PRead/PWrite position, Truncate size.</summary>
    public long Position;
    /// <summary>Chown: the new owner and group. Mknod: Owner is the device number.</summary>
    public int Owner;
    public int Group;
    public int Grant3;
    public int Length3;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct VfsPositionReply
{
    public long Position;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct VfsPipeReply
{
    public int ReadFd;
    public int WriteFd;
}

/// <summary>Stat's answer: the file server's FsStatReply plus the mount it lives on.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct VfsStatReply
{
    public uint Ino;
    public int Mode;
    public int Nlinks;
    public int Uid;
    public int Gid;
    public uint Rdev;
    public long Size;
    public uint Atime;
    public uint Mtime;
    public uint Ctime;
    /// <summary>The mount (index in VFS's mount table) the file lives on; -1 for a pipe.</summary>
    public short Dev;
    public short BlockSizeKiB;
    /// <summary>512-byte units allocated.</summary>
    public long Blocks;
}
