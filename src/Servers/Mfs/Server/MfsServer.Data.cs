// MFS's data requests (FsCall): Read, Write, Truncate, ReadLink, GetDents. Data moves through
// the caller's grant in chunks of at most ChunkBytes (the scratch buffer): the engine reads
// into it and SAFECOPYTO sends it on; SAFECOPYFROM fills it and the engine writes it. A failure
// after some bytes moved answers the count moved (POSIX's short transfer); a failure before
// answers the error. Read and Write check no permission: VFS checked the open (as MINIX's FS
// servers do), and the engine refuses the wrong kind of inode (EISDIR, EINVAL).
using System.Text;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Mfs.Server;

public sealed partial class MfsServer
{
    /// <summary>GetDents entries asked of the engine per request (its answer is bounded by the scratch buffer anyway).</summary>
    private const int MaxDentsPerCall = ChunkBytes / 16;

    /// <summary>The checks of a transfer: a held inode, 0 ≤ Length ≤ MaxTransfer, a position that does not overflow.</summary>
    private int CheckTransfer(in FsRequest req)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        if (req.Length < 0 || req.Length > FsCall.MaxTransfer) return Err.EINVAL;
        return req.Position < 0 || req.Position > long.MaxValue - req.Length ? Err.EINVAL : Err.Ok;
    }

    private int DoRead(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = CheckTransfer(req);
        if (r != Err.Ok) return r;
        int done = 0;
        while (done < req.Length)
        {
            int n = Math.Min(ChunkBytes, req.Length - done);
            var e = Engine.Read(req.Ino, req.Position + done, Scratch(n), out int got);
            if (e != MfsError.None)
            {
                if (done == 0) return E(e);
                break;
            }
            if (got > 0)
            {
                r = SysCall.SafeCopyTo(caller, req.Grant, done, _scratch, got);
                if (r != Err.Ok)
                {
                    if (done == 0) return r;
                    break;
                }
            }
            done += got;
            if (got < n) break;
        }
        m.As<FsIoReply>() = new FsIoReply { Count = done };
        return done;
    }

    private int DoWrite(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = CheckTransfer(req);
        if (r != Err.Ok) return r;
        int done = 0;
        while (done < req.Length)
        {
            int n = Math.Min(ChunkBytes, req.Length - done);
            r = SysCall.SafeCopyFrom(caller, req.Grant, done, _scratch, n);
            if (r != Err.Ok)
            {
                if (done == 0) return r;
                break;
            }
            var e = Engine.Write(req.Ino, req.Position + done, Scratch(n), out int put);
            if (e != MfsError.None)
            {
                if (done == 0) return E(e);
                break;
            }
            done += put;
            if (put < n) break;
        }
        if (Engine.Stat(req.Ino, out var st) != MfsError.None) return done > 0 ? done : Err.EIO;
        m.As<FsIoReply>() = new FsIoReply { Count = done, Size = st.Size };
        return done;
    }

    private int DoTruncate(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        return req.Position < 0 ? Err.EINVAL : E(Engine.Truncate(req.Ino, req.Position));
    }

    /// <summary>The target's bytes, as many as the buffer holds (readlink(2) truncates silently).</summary>
    private int DoReadLink(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        if (req.Length < 1 || req.Length > FsCall.MaxTransfer) return Err.EINVAL;
        var e = Engine.ReadLink(req.Ino, out string target);
        if (e != MfsError.None) return E(e);
        byte[] bytes = Encoding.UTF8.GetBytes(target);
        int n = Math.Min(Math.Min(bytes.Length, req.Length), ChunkBytes);
        bytes.AsSpan(0, n).CopyTo(Scratch(n));
        r = SysCall.SafeCopyTo(caller, req.Grant, 0, _scratch, n);
        return r != Err.Ok ? r : n;
    }

    /// <summary>FsDirent records from cookie Position on, as many as fit min(Length, ChunkBytes);
    /// FsIoReply.Position is the cookie of the first entry not sent.</summary>
    private int DoGetDents(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int r = Held(req.Ino);
        if (r != Err.Ok) return r;
        if (req.Length < 0 || req.Length > FsCall.MaxTransfer || req.Position < 0) return Err.EINVAL;
        int room = Math.Min(req.Length, ChunkBytes);
        int max = Math.Min(room / FsDirent.RecordSize(1), MaxDentsPerCall);
        if (max == 0) return Err.EINVAL;
        var entries = new List<MfsDirEntry>();
        var e = Engine.GetDents(req.Ino, req.Position, max, entries, out long next);
        if (e != MfsError.None) return E(e);
        var buf = Scratch(room);
        int used = 0;
        foreach (var d in entries)
        {
            byte[] name = Encoding.UTF8.GetBytes(d.Name);
            if (name.Length > byte.MaxValue) return Err.EIO; // a name the format cannot hold
            int size = FsDirent.RecordSize(name.Length);
            if (used + size > room)
            {
                if (used == 0) return Err.EINVAL; // not even one entry fits
                next = d.Offset;
                break;
            }
            var rec = buf.Slice(used, size);
            rec.Clear();
            System.Runtime.InteropServices.MemoryMarshal.Write(rec, new FsDirent { Ino = d.Inode, RecordLength = (ushort)size, NameLength = (byte)name.Length });
            name.CopyTo(rec[FsDirent.HeaderSize..]);
            used += size;
        }
        if (used > 0)
        {
            r = SysCall.SafeCopyTo(caller, req.Grant, 0, _scratch, used);
            if (r != Err.Ok) return r;
        }
        m.As<FsIoReply>() = new FsIoReply { Count = used, Position = next };
        return used;
    }
}
