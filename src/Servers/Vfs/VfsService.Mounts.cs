// The mount table (docs/vfs.md "Mounts"): mount, umount, sync, statfs, and the root mount made
// at start. A mount joins a file server (found by its DS label) to a block device ("LABEL
// MINOR", from a block special file's major and minor or given as LABEL:MINOR) with FsCall.Mount,
// and covers a directory; the first mount, on "/", is the root. Umount is EBUSY while anything
// but the mount itself uses a vnode of that file server (open files, working directories, mounts
// on it); a dead file server's mount can always be unmounted.
using System.Text;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Servers.Vfs;

public sealed partial class VfsService
{
    /// <summary>Longest file-server label.</summary>
    public const int MaxLabel = 64;

    private static bool LabelOk(string label) =>
        label.Length is > 0 and <= MaxLabel && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    /// <summary>Mounts file server <paramref name="label"/> with device <paramref name="device"/>
    /// ("LABEL:MINOR") on "/" (no root yet) — VFS's start.</summary>
    public int MountRoot(string label, string device, bool readOnly)
    {
        if (!ParseDevice(device, out string dev)) return Err.EINVAL;
        return MountCore(label, dev, null, readOnly);
    }

    private static bool ParseDevice(string spec, out string device)
    {
        device = "";
        int colon = spec.LastIndexOf(':');
        if (colon <= 0) return false;
        string label = spec[..colon];
        if (!LabelOk(label) || !int.TryParse(spec[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int minor) || minor > 255) return false;
        device = $"{label} {minor}";
        return true;
    }

    private int MountCore(string label, string device, Vnode? covered, bool readOnly)
    {
        int slot = covered is null ? 0 : Array.FindIndex(_mounts, 1, m => m is null);
        if (slot < 0 || _mounts[slot] is not null) return Err.EBUSY;
        // One mount per file server and per device: two servers caching the same blocks would
        // corrupt the file system.
        foreach (var m in _mounts)
            if (m is not null && (m.Server.Label == label || m.Device == device) && !m.Server.Dead) return Err.EBUSY;
        int r = Attach(label, device, readOnly, out var fs, out var root);
        if (r != Err.Ok) return r;
        _mounts[slot] = new Mount(slot, fs!, root!, covered, device, readOnly);
        SysCall.Diag($"vfs: mounted {label} ({device}{(readOnly ? ", read-only" : "")}) as mount {slot}");
        return Err.Ok;
    }

    /// <summary>Mounts again every file server that died and that RS has restarted (DS names
    /// another endpoint for its label), or that forgot our mount (EBADF, FileServer.Forgot): the
    /// new instance gets the same device and becomes the mount's server, its root the mount's
    /// root. Vnodes of the dead instance stay dead (their calls answer EIO: open files and working
    /// directories on it are lost, as the new instance knows none of their inodes); new walks
    /// reach the new instance. Runs before every request.</summary>
    private void Revive()
    {
        foreach (var mt in _mounts)
        {
            if (mt is null || !mt.Server.Dead) continue;
            var old = mt.Server;
            if (Bulkhead.Lib.Ds.DsClient.RetrieveLabel(old.Label, out int ep) != Err.Ok || (ep == old.Endpoint && !old.Forgot)) continue;
            int r = Attach(old.Label, mt.Device, mt.ReadOnly, out var fs, out var root);
            if (r != Err.Ok)
            {
                SysCall.Diag($"vfs: {old.Label} is back (endpoint {ep}) but mounting it again failed: {Err.Name(r)}");
                continue;
            }
            var oldRoot = mt.Root;
            mt.Server = fs!;
            mt.Root = root!;
            Put(oldRoot);
            old.Dispose();
            SysCall.Diag($"vfs: mounted {old.Label} again (endpoint {old.Endpoint} -> {fs!.Endpoint}) as mount {mt.Index}");
        }
    }

    /// <summary>Connects to file server <paramref name="label"/> and mounts <paramref name="device"/>
    /// ("LABEL MINOR") there: OK, the connection and its root (a directory, held once).</summary>
    private int Attach(string label, string device, bool readOnly, out FileServer? server, out Vnode? root)
    {
        server = null;
        root = null;
        int r = FileServer.Connect(label, _buffer, BufferBytes, out var fs);
        if (r != Err.Ok) return r;
        int n = Encoding.ASCII.GetBytes(device, fs!.Span);
        var mount = Message.Of(FsCall.Mount, new FsMountRequest { Grant = fs.Grant, Length = n, Flags = readOnly ? FsCall.MountReadOnly : 0 });
        r = fs.Call(FsCall.Mount, ref mount);
        if (r < 0)
        {
            fs.Dispose();
            return r;
        }
        r = Take(fs, mount.As<FsNodeReply>(), out var node);
        if (r != Err.Ok)
        {
            fs.Dispose();
            return r;
        }
        if (!node!.IsDirectory)
        {
            Put(node);
            fs.Dispose();
            return Err.EIO;
        }
        (server, root) = (fs, node);
        return Err.Ok;
    }

    private int DoMount(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        if ((req.Flags & ~VfsCall.MountReadOnly) != 0) return Err.EINVAL;
        int r = PathOf(p.Endpoint, req.Grant, req.Length, out string devPath);
        if (r != Err.Ok) return r;
        r = PathOf(p.Endpoint, req.Grant2, req.Length2, out string at);
        if (r != Err.Ok) return r;
        if (req.Length3 is <= 0 or > MaxLabel) return Err.EINVAL;
        r = PathOf(p.Endpoint, req.Grant3, req.Length3, out string label);
        if (r != Err.Ok) return r;
        if (!LabelOk(label)) return Err.EINVAL;
        string device;
        if (devPath[0] != '/' && devPath.Contains(':'))
        {
            if (!ParseDevice(devPath, out device)) return Err.EINVAL;
        }
        else
        {
            r = Walk(p, devPath, followLast: true, out var dev);
            if (r != Err.Ok) return r;
            bool block = dev!.Type == FsMode.BlockDevice;
            uint rdev = dev.Rdev;
            Put(dev);
            if (!block) return Err.EINVAL; // Linux: ENOTBLK
            if (DeviceMap.Label(VfsCall.Major(rdev)) is not { } driver) return Err.ENXIO;
            device = $"{driver} {VfsCall.Minor(rdev)}";
        }
        m = default;
        if (Root is null)
        {
            if (at.Trim('/').Length != 0 || at[0] != '/') return Err.ENOENT;
            return MountCore(label, device, null, (req.Flags & VfsCall.MountReadOnly) != 0);
        }
        r = Walk(p, at, followLast: true, out var point);
        if (r != Err.Ok) return r;
        if (!point!.IsDirectory) r = Err.ENOTDIR;
        else if (MountWithRoot(point) is not null || MountOn(point) is not null) r = Err.EBUSY;
        else r = MountCore(label, device, point, (req.Flags & VfsCall.MountReadOnly) != 0);
        if (r != Err.Ok) Put(point); // a mount keeps the point's use
        return r;
    }

    private int DoUmount(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = WalkArg(p, req, true, out var node);
        if (r != Err.Ok) return r;
        var mount = MountWithRoot(node!);
        Put(node!);
        m = default;
        if (mount is null) return Err.EINVAL;
        var fs = mount.Server;
        foreach (var v in _nodes.Values)
            if (ReferenceEquals(v.Server, fs) && (!ReferenceEquals(v, mount.Root) || v.Uses > 1)) return Err.EBUSY;
        foreach (var other in _mounts)
            if (other is not null && other != mount && other.Covered is { } c && ReferenceEquals(c.Server, fs)) return Err.EBUSY;
        if (!fs.Dead)
        {
            r = fs.Call(FsCall.Unmount, default(FsRequest), out _);
            if (r == Err.EBUSY) return r;
            if (r < 0) SysCall.Diag($"vfs: {fs.Label} answered unmount with {Err.Name(r)}; unmounted all the same");
        }
        // The file server forgot its references with the unmount: none to give back.
        mount.Root.FsRefs = 0;
        _nodes.Remove((fs, mount.Root.Ino));
        _mounts[mount.Index] = null;
        if (mount.Covered is { } covered) Put(covered);
        fs.Dispose();
        SysCall.Diag($"vfs: unmounted {fs.Label} (mount {mount.Index})");
        return Err.Ok;
    }

    private int DoSync(ref Message m, Proc p)
    {
        int result = Err.Ok;
        foreach (var mt in _mounts)
        {
            if (mt is null) continue;
            int r = mt.Server.Call(FsCall.Sync, default(FsRequest), out _);
            if (r < 0 && result == Err.Ok) result = r;
        }
        foreach (var d in _devices.Values) d.Client.Flush();
        m = default;
        return result;
    }

    private int DoStatFs(ref Message m, Proc p)
    {
        var req = m.As<VfsRequest>();
        int r = WalkArg(p, req, true, out var node);
        if (r != Err.Ok) return r;
        r = node!.Server.Call(FsCall.StatFs, default(FsRequest), out var reply);
        Put(node);
        if (r < 0) return r;
        m = Message.Of(0, reply.As<FsStatFsReply>());
        return Err.Ok;
    }

    /// <summary>The mount table as text (for a status line): index, label, device, point.</summary>
    public IEnumerable<Mount> Mounts => _mounts.Where(m => m is not null)!;
}
