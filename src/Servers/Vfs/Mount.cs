// One entry of the mount table: a file server, its root, and the vnode of the file system below
// that it covers (null for the root mount). Path walks cross from Covered to Root going down and
// from Root to Covered going up ("..").
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
    public FileServer Server { get; }
    public Vnode Root { get; }
    public Vnode? Covered { get; }
    /// <summary>"LABEL MINOR" of the block driver behind it.</summary>
    public string Device { get; }
    public bool ReadOnly { get; }
}
