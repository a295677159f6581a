// MFS's mount, unmount, references, sync and statfs (FsCall). Mount is the only request anyone
// may send (EBUSY once mounted, unless the mounter died: then a restarted VFS takes the mount
// over, TakeOver); it names the device as ASCII "LABEL MINOR" in a grant, opens it through a
// BlockClient (DriverBlockDevice) and mounts the engine over it: a device without a usable
// MINIX v3 file system is EINVAL with a log line saying why. Its caller becomes the only
// endpoint MFS answers, and holds one reference on the root. Unmount needs every reference but
// the root's given back (EBUSY), writes everything back and closes the device.
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Servers.Mfs.Device;

namespace Bulkhead.Servers.Mfs.Server;

public sealed partial class MfsServer
{
    /// <summary>Longest device text: a label, a space, a minor.</summary>
    public const int MaxDeviceText = BlockClient.MaxLabelLength + 1 + 10;

    /// <summary>The last device-open failure logged, so that retries do not flood the log.</summary>
    private string? _lastOpenFailure;

    private int DoMount(ref Message m)
    {
        int caller = m.Source;
        var req = m.As<FsMountRequest>();
        m.Payload = default;
        if (_engine is not null && !MounterDied()) return Err.EBUSY;
        if ((req.Flags & ~FsCall.MountReadOnly) != 0 || req.Length is < 3 or > MaxDeviceText) return Err.EINVAL;
        int r = SysCall.SafeCopyFrom(caller, req.Grant, 0, _scratch, req.Length);
        if (r != Err.Ok) return r;
        if (!ParseDevice(Scratch(req.Length), out string label, out int minor)) return Err.EINVAL;
        if (_engine is not null) return TakeOver(caller, $"{label} {minor}", ref m);
        if (!_refs.CanAdd(MfsEngine.RootInode)) return Err.ENFILE;
        bool readOnly = (req.Flags & FsCall.MountReadOnly) != 0;
        string name = $"{label} {minor}";
        r = DriverBlockDevice.Open(label, minor, !readOnly, out var device);
        if (r != Err.Ok)
        {
            // VFS retries a mount whose device is not there yet: say each failure once, not per try.
            string why = $"mfs: mount of {name}: cannot open the device: {Err.Name(r)}";
            if (why != _lastOpenFailure) SysCall.Diag(why);
            _lastOpenFailure = why;
            return r;
        }
        _lastOpenFailure = null;
        var e = MfsEngine.TryMount(device!, new MfsOptions { ReadOnly = readOnly }, out var engine, out string reason);
        if (e != MfsError.None)
        {
            SysCall.Diag($"mfs: mount of {name}: {(e == MfsError.EINVAL ? "no usable MINIX v3 file system" : "cannot read it")}: {reason}");
            device!.Dispose();
            return E(e);
        }
        e = engine!.Retain(MfsEngine.RootInode);
        if (e != MfsError.None)
        {
            device!.Dispose();
            return E(e);
        }
        (_engine, _device, _deviceName, _mounter, _syncFailing) = (engine, device, name, caller, false);
        _refs.Add(MfsEngine.RootInode);
        Arm();
        var sb = engine.Super;
        SysCall.Diag($"mfs: mounted {name}{(readOnly ? " read-only" : "")} for endpoint {caller}: {sb.BlockSize}-byte blocks, {sb.Zones} zones, {sb.Inodes} inodes");
        return NodeReply(MfsEngine.RootInode, ref m);
    }

    /// <summary>Whether the endpoint that mounted us is gone (a VFS that was killed).</summary>
    private bool MounterDied() => _mounter != Endpoint.None && SysCall.Times(_mounter, out _) == Err.EDEADSRCDST;

    /// <summary>A restarted VFS mounts the same device again while the old one, which mounted it,
    /// is dead: the new caller becomes the mounter, the dead one's references are given back (an
    /// unlinked file it held open is freed now) and the cache stays. Another device is EBUSY.</summary>
    private int TakeOver(int caller, string name, ref Message m)
    {
        if (name != _deviceName) return Err.EBUSY;
        foreach (var (ino, n) in _refs.All())
            for (int i = 0; i < n; i++) Engine.Release(ino);
        _refs.Clear();
        var e = Engine.Retain(MfsEngine.RootInode);
        if (e != MfsError.None) return E(e);
        _refs.Add(MfsEngine.RootInode);
        SysCall.Diag($"mfs: {name} mounted again for endpoint {caller} (its mounter {_mounter} died)");
        _mounter = caller;
        return NodeReply(MfsEngine.RootInode, ref m);
    }

    /// <summary>"LABEL MINOR": a label of BlockClient's characters, one space, a decimal minor.</summary>
    private static bool ParseDevice(ReadOnlySpan<byte> text, out string label, out int minor)
    {
        label = "";
        minor = -1;
        int space = text.IndexOf((byte)' ');
        if (space < 1 || space > BlockClient.MaxLabelLength) return false;
        foreach (byte b in text[..space])
            if (!(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'_' or (byte)'-' or (byte)'.')) return false;
        var digits = text[(space + 1)..];
        if (digits.Length is 0 or > 9) return false;
        foreach (byte b in digits)
            if (!char.IsAsciiDigit((char)b)) return false;
        label = Encoding.ASCII.GetString(text[..space]);
        minor = int.Parse(Encoding.ASCII.GetString(digits), CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>Fills an FsNodeReply for <paramref name="ino"/> and takes the reference it stands
    /// for (the caller checked _refs.CanAdd before changing anything).</summary>
    private int NodeReply(uint ino, ref Message m, bool addReference = false)
    {
        var e = Engine.Stat(ino, out var st);
        if (e != MfsError.None) return E(e);
        if (addReference)
        {
            e = Engine.Retain(ino);
            if (e != MfsError.None) return E(e);
            _refs.Add(ino);
        }
        m.As<FsNodeReply>() = new FsNodeReply
        {
            Ino = ino, Mode = st.Mode, Size = st.Size, Uid = st.Uid, Gid = st.Gid, Rdev = st.Rdev, Nlinks = st.Nlinks,
        };
        return Err.Ok;
    }

    private int DoUnmount(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        if (_refs.All().Any(kv => kv.Key != MfsEngine.RootInode)) return Err.EBUSY;
        var r = SyncNow("unmount");
        foreach (var (ino, n) in _refs.All())
            for (int i = 0; i < n; i++) Engine.Release(ino);
        _refs.Clear();
        _device!.Dispose();
        SysCall.Diag($"mfs: unmounted {_deviceName}{(r == MfsError.None ? "" : $" (write-back failed: {r})")}");
        (_engine, _device, _deviceName, _mounter) = (null, null, "", Endpoint.None);
        SysCall.SetAlarm(0, absolute: false, out _);
        return E(r);
    }

    private int DoSync(int caller, in FsRequest req, MfsCred cred, ref Message m) => E(SyncNow("sync"));

    private int DoStatFs(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        var e = Engine.StatFs(out var fs);
        if (e != MfsError.None) return E(e);
        m.As<FsStatFsReply>() = new FsStatFsReply
        {
            BlockSize = fs.BlockSize, NameMax = fs.NameMax, TotalBlocks = fs.TotalBlocks, FreeBlocks = fs.FreeBlocks,
            TotalInodes = fs.TotalInodes, FreeInodes = fs.FreeInodes,
        };
        return Err.Ok;
    }

    /// <summary>VFS gives back Length references on Ino (1 ≤ Length ≤ what it holds); an inode
    /// unlinked meanwhile is freed with its last reference.</summary>
    private int DoPutNode(int caller, in FsRequest req, MfsCred cred, ref Message m)
    {
        int held = _refs.CountOf(req.Ino);
        if (held == 0) return Err.EBADF;
        if (req.Length < 1 || req.Length > held) return Err.EINVAL;
        _refs.Drop(req.Ino, req.Length);
        var worst = MfsError.None;
        for (int i = 0; i < req.Length; i++)
        {
            var e = Engine.Release(req.Ino);
            if (e != MfsError.None) worst = e;
        }
        return E(worst);
    }
}
