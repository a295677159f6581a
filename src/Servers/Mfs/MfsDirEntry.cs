// One entry getdents answers: the inode number, the name, and the byte offset of the entry in
// the directory (a position getdents can resume from after it).
namespace Bulkhead.Servers.Mfs;

public readonly record struct MfsDirEntry(uint Inode, string Name, long Offset);
