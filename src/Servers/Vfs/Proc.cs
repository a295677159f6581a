// What VFS knows of one program: its descriptor table (VfsCall.MaxFdsPerProcess slots) and its
// working directory (null: the root). Made at a program's first call; forgotten when it holds
// nothing or dies (VfsService.Sweep).
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed class Proc
{
    public Proc(int endpoint) => Endpoint = endpoint;

    public int Endpoint { get; }
    public OpenFile?[] Fds { get; } = new OpenFile?[VfsCall.MaxFdsPerProcess];
    public Vnode? Cwd { get; set; }

    /// <summary>The lowest free descriptor at or above <paramref name="from"/>, or -1.</summary>
    public int FreeFd(int from = 0)
    {
        for (int i = from; i < Fds.Length; i++) if (Fds[i] is null) return i;
        return -1;
    }

    public bool Holds => Cwd is not null || Array.Exists(Fds, f => f is not null);
}
