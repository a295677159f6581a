// A file VFS knows: one inode of one file server, with the references VFS holds on it there
// (FsRefs: every FsNodeReply counted one; PutNode gives them back) and the uses VFS makes of it
// (Uses: open files, working directories, mount points and roots, path walks in progress).
// Rules: one Vnode per (server, inode) (VfsService.Nodes keeps them unique); a Vnode whose
// Uses fall to 0 gives its FsRefs back and leaves the table.
namespace Bulkhead.Servers.Vfs;

public sealed class Vnode
{
    public Vnode(FileServer server, uint ino)
    {
        Server = server;
        Ino = ino;
    }

    public FileServer Server { get; }
    public uint Ino { get; }
    public int Mode { get; set; }
    public long Size { get; set; }
    public uint Rdev { get; set; }
    /// <summary>References held in the file server.</summary>
    public int FsRefs { get; set; }
    /// <summary>Uses inside VFS.</summary>
    public int Uses { get; set; }

    public int Type => Mode & Bulkhead.Lib.Fs.FsMode.TypeMask;
    public bool IsDirectory => Type == Bulkhead.Lib.Fs.FsMode.Directory;
    public bool IsSymlink => Type == Bulkhead.Lib.Fs.FsMode.Symlink;
    public bool IsDevice => Type is Bulkhead.Lib.Fs.FsMode.CharDevice or Bulkhead.Lib.Fs.FsMode.BlockDevice;
}
