// Process-management kernel calls for PM and RS: SPAWN (create a process from a path or an
// in-memory image with its privileges installed before it runs; the caller becomes its
// parent of record; optionally held until PRIVCTL Allow), PRIVCTL (change a child's
// privileges, release a held process), KILL (signal a child) and
// GETKSIG (collect one exit report of a child, after a NOTIFY from SYSTEM).
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed partial class Kernel
{
    private const int MaxPathBytes = 4096;
    private const int MaxArgvBytes = 64 * 1024;
    private const int MaxArgs = 256;
    private const int MaxImageBytes = 128 << 20;

    private int DoSpawn(Proc caller, ref Message m)
    {
        var req = m.As<SpawnRequest>();
        var arena = caller.Arena!;
        bool fromMemory = (req.Flags & SpawnRequest.FromMemory) != 0;
        bool fromImage = (req.Flags & SpawnRequest.FromImage) != 0;
        bool script = (req.Flags & SpawnRequest.Script) != 0;
        bool held = (req.Flags & SpawnRequest.Held) != 0;
        if ((req.Flags & SpawnRequest.Boot) != 0)
        {
            if (req.Flags != SpawnRequest.Boot) return Err.EINVAL;
            int ep = RespawnBoot(caller, req.PathLength, out int bootPid);
            if (ep < 0) return ep;
            m = Message.Of(0, new EndpointReply { Endpoint = ep, HostPid = bootPid });
            return Err.Ok;
        }
        if ((req.Flags & ~(SpawnRequest.FromMemory | SpawnRequest.FromImage | SpawnRequest.Script | SpawnRequest.Held)) != 0 ||
            (fromMemory && fromImage) || (script && (fromMemory || fromImage || held))) return Err.EINVAL;
        string path = "";
        ReadOnlySpan<byte> image = default;
        int imageFd = -1;
        if (fromImage)
        {
            if (!_images.TryGetValue(req.PathLength, out var obj)) return Err.ENOENT;
            imageFd = obj.Fd;
        }
        else if (fromMemory)
        {
            if (req.PathLength <= 0 || req.PathLength > MaxImageBytes || !arena.TrySlice(req.PathOffset, req.PathLength, out var img))
                return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
            image = img;
        }
        else if (!TryReadString(caller, req.PathOffset, req.PathLength, MaxPathBytes, out path) || path.Length == 0)
        {
            return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        }
        if (!TryReadString(caller, req.ArgvOffset, req.ArgvLength, MaxArgvBytes, out string argvText))
            return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        var argv = argvText.Split('\0', StringSplitOptions.None).ToList();
        if (argv.Count > 0 && argv[^1].Length == 0) argv.RemoveAt(argv.Count - 1);
        if (argv.Count > MaxArgs) return Err.E2BIG;
        if (!arena.TryRead(req.PrivOffset, out PrivilegeBlock priv))
            return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        if (!MayHand(caller, priv)) return Refused(caller, Denial.RequestRejected, Err.EPERM);
        string name = req.Name.ToString();
        if (name.Length == 0) name = fromMemory || fromImage ? "image" : Path.GetFileName(path);
        if (script && (priv.TrapMask != 0 || _jail is null)) return Err.EINVAL; // a host program never traps
        int r = script ? SpawnScript(name, path, argv, caller.Endpoint, out int pid)
            : SpawnOnThread(name, path, image, argv, priv, -1, caller.Endpoint, (long)req.ArenaKiB * 1024, out pid, sharedImageFd: imageFd, held: held);
        if (r < 0) return r;
        m = Message.Of(0, new EndpointReply { Endpoint = r, HostPid = pid });
        return Err.Ok;
    }

    private int DoPrivCtl(Proc caller, ref Message m)
    {
        var req = m.As<PrivCtlRequest>();
        var target = ProcOf(req.Target);
        if (target is null) return Refused(caller, Denial.InvalidDestination, Err.EDEADSRCDST);
        if (req.Op == PrivCtlRequest.Allow) return PrivCtlAllow(caller, target, ref m);
        if (req.Op != PrivCtlRequest.SetPriv) return PrivCtlAddResource(caller, target, req, ref m);
        if (target.Parent != caller.Endpoint || (target.Priv.Flags & PrivilegeBlock.Mutable) == 0)
            return Refused(caller, Denial.RequestRejected, Err.EPERM);
        if (!caller.Arena!.TryRead(req.PrivOffset, out PrivilegeBlock priv))
            return Refused(caller, Denial.MemoryOutsideArena, Err.EFAULT);
        if (!MayHand(caller, priv)) return Refused(caller, Denial.RequestRejected, Err.EPERM);
        target.Priv.Install(priv, _procs.Length, IsTargetEndpoint);
        m = default;
        return Err.Ok;
    }

    /// <summary>PRIVCTL Allow: releases a process created held (SpawnRequest.Held). Its parent of
    /// record may, and RS, which asks PM to start services and publishes their labels and ACLs
    /// before they run (thesis §2.2, §3.4). A trap the process made while held is served next,
    /// after this call has been answered.</summary>
    private int PrivCtlAllow(Proc caller, Proc target, ref Message m)
    {
        if (target.Parent != caller.Endpoint && caller.Endpoint != Endpoint.Rs)
            return Refused(caller, Denial.RequestRejected, Err.EPERM);
        if (!target.Held) return Err.EINVAL;
        target.Held = false;
        int ep = target.Endpoint;
        _invokes.Enqueue(() =>
        {
            if (ProcOf(ep) is { Held: false } p && p.Alive) HandleDoorbell(p);
        });
        Native.WriteEventfd(_wakefd);
        m = default;
        return Err.Ok;
    }

    /// <summary>Device authority is handed on only by a process that has it (boot makes the
    /// trusted bus drivers; PM and RS cannot create one).</summary>
    private static bool MayHand(Proc caller, in PrivilegeBlock priv) =>
        (priv.Flags & PrivilegeBlock.DeviceAuthority) == 0 || (caller.Priv.Flags & PrivilegeBlock.DeviceAuthority) != 0;

    /// <summary>PRIVCTL AddIo/AddIrq: the PCI-bus driver hands a driver the I/O ports and IRQ
    /// line of the device it reserved (thesis §3.3.3). Only DeviceAuthority callers; kernel
    /// tasks and DeviceAuthority processes themselves are never targets.</summary>
    private int PrivCtlAddResource(Proc caller, Proc target, in PrivCtlRequest req, ref Message m)
    {
        if ((caller.Priv.Flags & PrivilegeBlock.DeviceAuthority) == 0 || target == caller
            || (target.Priv.Flags & PrivilegeBlock.DeviceAuthority) != 0)
            return Refused(caller, Denial.RequestRejected, Err.EPERM);
        switch (req.Op)
        {
            case PrivCtlRequest.AddIo:
                if (req.Base is < 0 or > 0xFFFF || req.Length is <= 0 or > 0xFFFF || req.Base + req.Length > 0x10000) return Err.EINVAL;
                if (target.Priv.PortsAllowed(req.Base, req.Length)) break;
                if (target.Priv.IoRangeCount >= PrivilegeBlock.MaxIoRanges) return Err.ENOSPC;
                target.Priv.GrantedIo.Add((req.Base, req.Length));
                break;
            case PrivCtlRequest.AddIrq:
                if (req.Base is < 0 or >= 64) return Err.EINVAL;
                target.Priv.GrantedIrqs |= 1UL << req.Base;
                break;
            default:
                return Err.EINVAL;
        }
        m = default;
        return Err.Ok;
    }

    private int DoKill(Proc caller, ref Message m)
    {
        var req = m.As<KillRequest>();
        if (req.Signal is < 1 or > 64) return Err.EINVAL;
        var target = ProcOf(req.Target == Endpoint.Self ? caller.Endpoint : req.Target);
        if (target is null) return Refused(caller, Denial.InvalidDestination, Err.EDEADSRCDST);
        if (target != caller && target.Parent != caller.Endpoint) return Refused(caller, Denial.RequestRejected, Err.EPERM);
        m = default;
        return SignalProc(target, req.Signal);
    }

    private int DoGetKsig(Proc caller, ref Message m)
    {
        foreach (var z in _procs)
        {
            if (z.State != ProcState.Zombie || z.Parent != caller.Endpoint) continue;
            m = Message.Of(0, z.Exit);
            Free(z);
            return Err.Ok;
        }
        m = Message.Of(0, new ExitInfo { Endpoint = Endpoint.None });
        return Err.Ok;
    }

    private int Refused(Proc caller, Denial why, int error)
    {
        CountDenial(caller, why);
        return error;
    }

}
