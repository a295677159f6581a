// The st_mode bits MINIX stores in an inode's mode: the file type in the top four bits, then
// set-uid, set-gid, sticky and the rwx bits of owner, group and others (octal as in POSIX).
namespace Bulkhead.Servers.Mfs.Disk;

public static class ModeBits
{
    public const ushort TypeMask = 0xF000;   // 0170000
    public const ushort Socket = 0xC000;     // 0140000
    public const ushort Symlink = 0xA000;    // 0120000
    public const ushort Regular = 0x8000;    // 0100000
    public const ushort BlockDevice = 0x6000; // 0060000
    public const ushort Directory = 0x4000;  // 0040000
    public const ushort CharDevice = 0x2000; // 0020000
    public const ushort Fifo = 0x1000;       // 0010000
    public const ushort PermissionMask = 0xFFF; // 07777: suid, sgid, sticky, rwxrwxrwx

    public const int Read = 4;
    public const int Write = 2;
    public const int Execute = 1;

    public static bool IsKnownType(ushort mode) => (mode & TypeMask) is Socket or Symlink or Regular or BlockDevice or Directory or CharDevice or Fifo;
}
