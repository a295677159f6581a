// Protocol between VFS and a file-system server (MFS), in the spirit of MINIX 3.2's REQ_*
// messages: the file server knows inodes, not paths or processes. VFS walks every path itself,
// one component per Lookup (it follows mounts, "..", and symbolic links with ReadLink), keeps
// the file descriptors and offsets, and checks nothing the file server can check better: each
// request carries the caller's effective Uid and Gid, and the file server checks permissions
// and every other argument. Always a SENDREC from VFS; data moves through grants VFS makes to
// the file server (Grant.Read: names, link targets, data to write; Grant.Write: data read,
// directory entries, link contents). The reply's m_type is OK, a count, or a negative Err.
//   Mount     (FsMountRequest → FsNodeReply)  the device (grant: ASCII "LABEL MINOR", the
//             block driver's label and minor) becomes this server's file system; the reply is
//             its root. EBUSY when already mounted; EINVAL (and a log line saying why) for a
//             device that holds no valid file system.
//   Unmount   (FsRequest → OK)             writes everything back; EBUSY while VFS still holds
//             references other than the root's.
//   Lookup    (Ino = directory, Grant/Length = one name, no '/') → FsNodeReply. "." is the
//             directory; ".." of the file system's root is the root itself (VFS crosses mounts).
//   Create    (Ino = directory, name, Mode = type and permission bits, Rdev for device files)
//             → FsNodeReply; EEXIST if the name exists. Types: regular, character or block
//             special, FIFO. Mkdir (Ino = directory, name, Mode) → FsNodeReply.
//   Symlink   (Ino = directory, Grant/Length = "NAME\0TARGET") → FsNodeReply.
//   Unlink, Rmdir (Ino = directory, name) → OK. Unlink of a directory is EPERM.
//   Link      (Ino = directory, name, Ino2 = the existing inode) → OK.
//   Rename    (Ino = old directory, Ino2 = new directory, Grant/Length = "OLD\0NEW") → OK.
//   ReadLink  (Ino, Grant/Length = buffer) → count of bytes of the target.
//   Read      (Ino, Position, Grant/Length = buffer) → count (0 at or past the end; FsIoReply).
//   Write     (Ino, Position, Grant/Length = data) → count; FsIoReply.Size is the new size.
//   Truncate  (Ino, Position = new size) → OK (grows with a hole, or shrinks).
//   GetDents  (Ino = directory, Position = cookie, 0 first, Grant/Length = buffer) → bytes of
//             FsDirent records written; FsIoReply.Position is the next cookie. 0 bytes: the end.
//             EINVAL when not even one entry fits the buffer.
//   Stat      (Ino) → FsStatReply. Chmod (Ino, Mode = permission bits) → OK.
//             Chown (Ino, Owner, Group) → OK. Utime (Ino, Atime, Mtime) → OK.
//   PutNode   (Ino, Length = count) → OK: VFS drops that many references (below).
//   Sync      → OK once every dirty block is on the device. StatFs → FsStatFsReply.
// References: every FsNodeReply (Mount, Lookup, Create, Mkdir, Symlink) counts one reference
// that VFS holds on that inode until it gives it back with PutNode. An inode unlinked while
// referenced keeps its data until the last reference goes (an open file outlives its name).
// A file server restarted knows no references; VFS finds out from EBADF on an inode it holds.
// Requests from any endpoint but the one whose Mount succeeded are EPERM. Times are seconds
// since the epoch (MINIX v3 inodes hold 32 bits). Rules: message numbers are explicit and
// append-only; payloads are 56 bytes; nothing in a request is trusted.
using System.Runtime.InteropServices;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Fs;

public static class FsCall
{
    public const int Base = Protocols.Fs;
    public const int Mount = Base + 1;
    public const int Unmount = Base + 2;
    public const int Lookup = Base + 3;
    public const int Create = Base + 4;
    public const int Mkdir = Base + 5;
    public const int Symlink = Base + 6;
    public const int Unlink = Base + 7;
    public const int Rmdir = Base + 8;
    public const int Link = Base + 9;
    public const int Rename = Base + 10;
    public const int ReadLink = Base + 11;
    public const int Read = Base + 12;
    public const int Write = Base + 13;
    public const int Truncate = Base + 14;
    public const int GetDents = Base + 15;
    public const int Stat = Base + 16;
    public const int Chmod = Base + 17;
    public const int Chown = Base + 18;
    public const int Utime = Base + 19;
    public const int PutNode = Base + 20;
    public const int Sync = Base + 21;
    public const int StatFs = Base + 22;

    /// <summary>Largest Read or Write of one request (VFS splits bigger transfers).</summary>
    public const int MaxTransfer = 1024 * 1024;
    /// <summary>Longest name of one directory entry (MINIX v3: 60 bytes).</summary>
    public const int NameMax = 60;
    /// <summary>Longest path VFS accepts and longest symbolic-link target (MINIX PATH_MAX).</summary>
    public const int PathMax = 4096;

    /// <summary>FsMountRequest.Flags: mount read-only (writes are EROFS).</summary>
    public const int MountReadOnly = 0x1;
}

/// <summary>Mode bits of FsRequest.Mode and the replies (POSIX's and MINIX's values).</summary>
public static class FsMode
{
    public const int TypeMask = 0xF000;
    public const int Fifo = 0x1000;
    public const int CharDevice = 0x2000;
    public const int Directory = 0x4000;
    public const int BlockDevice = 0x6000;
    public const int Regular = 0x8000;
    public const int Symlink = 0xA000;
    /// <summary>rwxrwxrwx plus set-uid, set-gid and sticky.</summary>
    public const int PermissionMask = 0xFFF;
}

/// <summary>Every request but Mount.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct FsRequest
{
    public uint Ino;
    public uint Ino2;
    public int Grant;
    public int Length;
    public long Position;
    /// <summary>The caller's effective user and group (0 = superuser).</summary>
    public int Uid;
    public int Gid;
    public int Mode;
    public uint Rdev;
    /// <summary>Chown: the new owner and group.</summary>
    public int Owner;
    public int Group;
    /// <summary>Utime.</summary>
    public uint Atime;
    public uint Mtime;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct FsMountRequest
{
    /// <summary>Grant.Read of ASCII "LABEL MINOR", Length bytes.</summary>
    public int Grant;
    public int Length;
    public int Flags;
}

/// <summary>An inode VFS now holds one reference on.</summary>
[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct FsNodeReply
{
    public uint Ino;
    public int Mode;
    public long Size;
    public int Uid;
    public int Gid;
    public uint Rdev;
    public int Nlinks;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct FsIoReply
{
    public int Count;
    /// <summary>GetDents: the cookie of the next entry.</summary>
    public long Position;
    /// <summary>Write: the file's size afterwards.</summary>
    public long Size;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct FsStatReply
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
    public int BlockSize;
    /// <summary>512-byte units allocated.</summary>
    public long Blocks;
}

[StructLayout(LayoutKind.Sequential, Size = Message.PayloadSize)]
public struct FsStatFsReply
{
    public int BlockSize;
    public int NameMax;
    public long TotalBlocks;
    public long FreeBlocks;
    public long TotalInodes;
    public long FreeInodes;
}

/// <summary>One GetDents record: header, Name bytes, zero padding to a multiple of 8 (RecordLength).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct FsDirent
{
    public uint Ino;
    public ushort RecordLength;
    public byte NameLength;
    public byte Reserved;

    public const int HeaderSize = 8;

    /// <summary>Bytes a record with a name of <paramref name="nameLength"/> bytes takes.</summary>
    public static int RecordSize(int nameLength) => (HeaderSize + nameLength + 7) & ~7;
}
