// What stat answers for one inode. Blocks counts 512-byte units of the size rounded up to whole
// file-system blocks (holes included), as MINIX's stat does.
namespace Bulkhead.Servers.Mfs;

public readonly record struct MfsStat(
    uint Inode, ushort Mode, ushort Nlinks, ushort Uid, ushort Gid, uint Rdev, long Size,
    uint Atime, uint Mtime, uint Ctime, int BlockSize, long Blocks);
