// An open file (POSIX's open file description): what was opened, how, and where the next read
// or write goes. Descriptors that dup shares it (Refs); the last close releases it. Exactly one
// of Node (a file, a directory or a device) and Pipe is set.
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed class OpenFile
{
    public OpenFile(Vnode? node, Pipe? pipe, int flags)
    {
        Node = node;
        Pipe = pipe;
        Flags = flags;
    }

    public Vnode? Node { get; }
    public Pipe? Pipe { get; }
    /// <summary>O_* flags of the open (access mode, O_APPEND, O_NONBLOCK).</summary>
    public int Flags { get; }
    public long Position { get; set; }
    public int Refs { get; set; } = 1;
    /// <summary>A device file's driver client.</summary>
    public Device? Device { get; set; }

    public bool CanRead => (Flags & VfsCall.O_ACCMODE) is VfsCall.O_RDONLY or VfsCall.O_RDWR;
    public bool CanWrite => (Flags & VfsCall.O_ACCMODE) is VfsCall.O_WRONLY or VfsCall.O_RDWR;
    public bool NonBlocking => (Flags & VfsCall.O_NONBLOCK) != 0;
}
