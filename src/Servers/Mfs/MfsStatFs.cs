// What statfs answers (for df): sizes in file-system blocks and inode counts, free ones counted
// in the bitmaps.
namespace Bulkhead.Servers.Mfs;

public readonly record struct MfsStatFs(
    int BlockSize, long TotalBlocks, long FreeBlocks, long TotalInodes, long FreeInodes, int NameMax);
