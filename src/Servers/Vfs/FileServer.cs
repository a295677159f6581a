// VFS's connection to one file-server process (FsCall): its label and endpoint, and a grant that
// lets it read and write VFS's transfer buffer (one buffer for all file servers: VFS does one
// request at a time). Call sends one request with SENDREC and returns the answer's m_type.
// Recovery: a file server that dies ends the SENDREC with EDEADSRCDST; from then on the server is
// Dead and every call on it answers EIO at once; once RS has restarted it, VfsService.Revive
// mounts the device again on a new FileServer for the new instance (docs/vfs.md "Recovery").
// An EBADF answer also makes it Dead: VFS only names inodes it holds, so the server forgot us. Rules: the answer is not trusted — counts are checked against what was asked
// by the callers (VfsService), inode numbers only name Vnodes.
using System.Text;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Vfs;

public sealed class FileServer : IDisposable
{
    private readonly long _buffer;
    private readonly int _bufferLength;
    private int _grant = -1;

    private FileServer(string label, int endpoint, long buffer, int bufferLength)
    {
        Label = label;
        Endpoint = endpoint;
        _buffer = buffer;
        _bufferLength = bufferLength;
    }

    public string Label { get; }
    public int Endpoint { get; }
    public bool Dead { get; private set; }
    /// <summary>Dead because it answered EBADF: its endpoint may be the same when it is back.</summary>
    public bool Forgot { get; private set; }
    public int Grant => _grant;

    /// <summary>A connection to the file server DS knows as <paramref name="label"/>, granted the
    /// buffer at <paramref name="buffer"/>.</summary>
    public static int Connect(string label, long buffer, int bufferLength, out FileServer? server)
    {
        server = null;
        int r = Bulkhead.Lib.Ds.DsClient.RetrieveLabel(label, out int ep);
        if (r != Err.Ok) return r == Err.ESRCH || r == Err.ENOENT ? Err.ENXIO : r;
        int g = GrantTable.Current.Direct(ep, buffer, bufferLength, Bulkhead.Lib.Grants.Grant.ReadWrite);
        if (g < 0) return g;
        server = new FileServer(label, ep, buffer, bufferLength) { _grant = g };
        return Err.Ok;
    }

    /// <summary>One request: the answer's m_type (EIO once the server died).</summary>
    public int Call(int type, ref Message m)
    {
        if (Dead) return Err.EIO;
        m.Type = type;
        int r = IpcCall.SendRec(Endpoint, ref m);
        if (r != Err.Ok)
        {
            if (r is Err.EDEADSRCDST or Err.EDEADEPT or Err.EBADEPT)
            {
                Dead = true;
                SysCall.Diag($"vfs: file server {Label} (endpoint {Endpoint}) is gone: its mount answers EIO");
            }
            return Err.EIO;
        }
        if (m.Type == Err.EBADF && type != FsCall.Mount)
        {
            // VFS names only inodes it holds: EBADF means the server forgot our mount (a new
            // instance in the same endpoint). Mounted again like a dead one.
            Dead = Forgot = true;
            SysCall.Diag($"vfs: file server {Label} (endpoint {Endpoint}) forgot its mount (EBADF): its mount answers EIO");
            return Err.EIO;
        }
        return m.Type;
    }

    public int Call(int type, in FsRequest req, out Message reply)
    {
        reply = Message.Of(type, req);
        return Call(type, ref reply);
    }

    /// <summary>A request that names one entry (Lookup, Create, Unlink, …): the name travels in the buffer.</summary>
    public int CallName(int type, FsRequest req, string name, out Message reply)
    {
        int n = Encoding.UTF8.GetBytes(name, Span);
        req.Grant = _grant;
        req.Length = n;
        return Call(type, req, out reply);
    }

    /// <summary>The transfer buffer (shared with every file server and the device code).</summary>
    public Span<byte> Span => Channel.Current.Arena.Slice((int)_buffer, _bufferLength);

    public void Dispose()
    {
        if (_grant >= 0) GrantTable.Current.Revoke(_grant);
        _grant = -1;
    }
}
