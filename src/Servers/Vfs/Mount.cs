// One entry of the mount table: a file server, its root, and the vnode of the file system below
// that it covers (null for the root mount). Path walks cross from Covered to Root going down and
// from Root to Covered going up (".."). A mount whose file server died and was restarted by RS
// gets the new instance and its root (VfsService.Revive); the rest stays.
namespace Bulkhead.Servers.Vfs;

public sealed class Mount
{
    public Mount(int index, FileServer server, Vnode root, Vnode? covered, string device, bool readOnly)
    {
        Index = index;
        Server = server;
        Root = root;
        Covered = covered;
        Device = device;
        ReadOnly = readOnly;
    }

    public int Index { get; }
    /// <summary>The file server; replaced when a dead one is mounted again (VfsService.Revive).</summary>
    public FileServer Server { get; set; }
    public Vnode Root { get; set; }
    public Vnode? Covered { get; }
    /// <summary>"LABEL MINOR" of the block driver behind it.</summary>
    public string Device { get; }
    public bool ReadOnly { get; }
}
