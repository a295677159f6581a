// The process table: slot allocation (round robin, generation bumped on reuse), process
// creation with privileges installed before the process runs, exit detection through the
// pidfd, and the cleanup that makes a dead endpoint stale forever (thesis §2.1, §4.1).
using Bulkhead.Kernel.Host;
using Bulkhead.Kernel.Host.Jail;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed unsafe partial class Kernel
{
    /// <summary>The live process at <paramref name="endpoint"/>, or null if it is dead or stale.</summary>
    private Proc? ProcOf(int endpoint)
    {
        int slot = Endpoint.Slot(endpoint);
        if (slot < 0 || slot >= _procs.Length) return null;
        var p = _procs[slot];
        return p.Alive && p.Endpoint == endpoint ? p : null;
    }

    /// <summary>May an IPC target list name <paramref name="endpoint"/>? Yes for a live
    /// process, for generation 0 of a slot that never had a process (a fixed boot server
    /// that starts later), and for the endpoint of a restartable boot process that is dead
    /// now (RS starts it again with that endpoint).</summary>
    private bool IsTargetEndpoint(int endpoint)
    {
        int slot = Endpoint.Slot(endpoint);
        if (slot < 0 || slot >= _procs.Length) return false;
        var p = _procs[slot];
        if (p.Alive || p.BootSpec is not null) return p.Endpoint == endpoint;
        return !p.EverUsed && Endpoint.Generation(endpoint) == 0;
    }

    /// <summary>Bitmap index of a sender: kernel tasks first, then process slots.</summary>
    private static int SenderIndex(int slot) => slot + Endpoint.TaskCount;

    /// <summary>Slots kept out of dynamic allocation until a process is started in them by
    /// number (ReserveSlots); null until the first reservation. Kernel thread only.</summary>
    private bool[]? _reserved;

    /// <summary>Keeps <paramref name="slots"/> out of dynamic allocation until a process is
    /// started in each by its number. Boot assigns every boot process its slot before it starts
    /// any (BootParser.Resolve), and init may start services from etc/rc before the last boot
    /// process is up: without this, such a service could take a later boot process's slot
    /// (and that boot would stop with EBUSY).</summary>
    public void ReserveSlots(IEnumerable<int> slots) => Invoke(() =>
    {
        _reserved ??= new bool[_procs.Length];
        foreach (int s in slots)
            if (s >= 0 && s < _procs.Length) _reserved[s] = true;
        return 0;
    });

    private Proc? AllocateSlot(int fixedSlot)
    {
        if (fixedSlot >= 0)
        {
            if (fixedSlot >= _procs.Length || _procs[fixedSlot].State != ProcState.Free) return null;
            if (_reserved is not null) _reserved[fixedSlot] = false;
            return _procs[fixedSlot];
        }
        int first = Math.Min(_opt.FirstDynamicSlot, _procs.Length - 1);
        int span = _procs.Length - first;
        for (int i = 0; i < span; i++)
        {
            int s = first + (_nextSlot - first + i) % span;
            if (_procs[s].State == ProcState.Free && _procs[s].BootSpec is null && _reserved?[s] != true)
            {
                _nextSlot = first + (s - first + 1) % span;
                return _procs[s];
            }
        }
        return null;
    }

    /// <summary>Starts a process (call on the kernel thread, or through Invoke). Returns its endpoint or a negative error.</summary>
    public int Spawn(ProcessSpec spec) => Invoke(() =>
    {
        if (spec.Restartable && (spec.Slot < 0 || spec.Slot >= _procs.Length || spec.Image is not null)) return Err.EINVAL;
        int ep = SpawnOnThread(spec.Name, spec.Path, spec.Image, spec.Args, spec.Privileges, spec.Slot, spec.Parent, spec.ArenaBytes, out _,
                               spec.StdinFd, spec.StdoutFd, files: spec.Files, stderrFd: spec.StderrFd);
        if (ep >= 0 && spec.Restartable)
        {
            _procs[spec.Slot].BootSpec = spec;
            _procs[spec.Slot].BootStarts = 1;
        }
        return ep;
    });

    /// <summary>SPAWN Boot: starts restartable boot process <paramref name="slot"/> again from
    /// the kernel's own copy of its boot.conf entry (binary, arguments, privileges — including
    /// device authority, which no caller could hand out). Only its parent of record may, and
    /// only once the previous instance is dead and collected.</summary>
    private int RespawnBoot(Proc caller, int slot, out int hostPid)
    {
        hostPid = 0;
        if (slot < 0 || slot >= _procs.Length || _procs[slot].BootSpec is not { } spec) return Err.ENOENT;
        if (spec.Parent != caller.Endpoint) return Refused(caller, Denial.RequestRejected, Err.EPERM);
        if (_procs[slot].State != ProcState.Free) return Err.EBUSY;
        int ep = SpawnOnThread(spec.Name, spec.Path, default, spec.Args, spec.Privileges, slot, caller.Endpoint, spec.ArenaBytes, out hostPid,
                               spec.StdinFd, spec.StdoutFd, files: spec.Files, stderrFd: spec.StderrFd);
        if (ep >= 0) _procs[slot].BootStarts++;
        return ep;
    }

    private int SpawnOnThread(string name, string path, ReadOnlySpan<byte> image, IReadOnlyList<string> args,
                              in PrivilegeBlock priv, int fixedSlot, int parent, long arenaBytes, out int hostPid,
                              int stdinFd = -1, int stdoutFd = -1, int sharedImageFd = -1, JailView files = JailView.Bare,
                              string? argv0 = null, bool held = false, int stderrFd = -1)
    {
        hostPid = 0;
        if (_stopping) return Err.EAGAIN;
        if (string.IsNullOrWhiteSpace(name)) return Err.EINVAL;
        if (sharedImageFd < 0 && image.IsEmpty && (string.IsNullOrEmpty(path) || !File.Exists(path))) return Err.ENOENT;
        long size = arenaBytes <= 0 ? _opt.DefaultArenaBytes : arenaBytes;
        if (size < SysCall.HeapStart || size > _opt.MaxArenaBytes) return Err.EINVAL;
        size = (size + 4095) & ~4095L;
        var p = AllocateSlot(fixedSlot);
        if (p is null) return fixedSlot >= 0 ? Err.EBUSY : Err.EAGAIN;

        ArenaMapping? arena = null;
        int doorbell = -1, imageFd = -1;
        try
        {
            arena = ArenaMapping.Create(name, size);
            doorbell = Native.eventfd(0, Native.EFD_CLOEXEC);
            if (doorbell < 0) return Err.ENOMEM;
            if (sharedImageFd < 0 && !image.IsEmpty)
            {
                imageFd = HostSpawner.MemoryImage(name, image);
                if (imageFd < 0) return Err.ENOMEM;
            }
            // An image object is the kernel's own descriptor, never the process's.
            int execFd = sharedImageFd >= 0 ? sharedImageFd : imageFd;

            // Install identity and privileges while the process does not exist yet.
            p.ResetIpc();
            // A restartable boot process keeps its endpoint (Proc.BootSpec); any other reuse of
            // a slot makes the old endpoint stale.
            if (!p.EverUsed) p.Generation = 0;
            else if (p.BootSpec is null) p.Generation = Endpoint.NextGeneration(p.Generation);
            p.EverUsed = true;
            p.Endpoint = Endpoint.Make(p.Generation, p.Slot);
            p.Name = name.Length > 15 ? name[..15] : name;
            p.Parent = parent;
            p.Held = held;
            p.Priv.Install(priv, _procs.Length, IsTargetEndpoint);
            p.StartNs = UptimeNs;
            ref var page = ref arena.Page;
            page.Endpoint = p.Endpoint;
            page.Slot = p.Slot;
            page.BootTimeUnixNs = _bootUnixNs;
            page.Name = ProcessName.From(p.Name);

            var argv = new List<string>(args.Count + 1) { argv0 ?? p.Name };
            argv.AddRange(args);
            var env = ComponentEnvironment(p.Name);
            var channel = HostSpawner.Channel(arena.ArenaFd, arena.KernelPageReadOnlyFd, doorbell,
                                              stdinFd >= 0 ? stdinFd : _devNull, stdoutFd >= 0 ? stdoutFd : _opt.ComponentOutputFd, stderrFd);
            int pid = StartHost(p, path, execFd, argv, env, channel, files);
            if (pid < 0)
            {
                Log("kernel", $"cannot start {name} from {(sharedImageFd >= 0 ? "image object" : image.IsEmpty ? path : "memory image")}: errno {-pid}");
                return Err.ENOEXEC;
            }
            int pidfd = Native.PidfdOpen(pid);
            if (pidfd < 0)
            {
                Native.kill(pid, Native.SIGKILL);
                CloseSeccomp(p);
                return Err.EAGAIN;
            }
            arena.CloseChildOnlyFds();
            p.Arena = arena;
            p.Doorbell = doorbell;
            p.ImageFd = imageFd;
            p.HostPid = pid;
            p.Pidfd = pidfd;
            p.State = ProcState.Running;
            p.CpuAtTick = 0;
            arena = null;
            EpollAdd(doorbell, TagDoorbell | (uint)p.Endpoint, Native.EPOLLIN | Native.EPOLLET);
            EpollAdd(pidfd, TagPidfd | (uint)p.Endpoint, Native.EPOLLIN);
            if (p.SeccompFd >= 0) EpollAdd(p.SeccompFd, TagSeccomp | (uint)p.Endpoint, Native.EPOLLIN);
            hostPid = pid;
            return p.Endpoint;
        }
        finally
        {
            if (arena is not null)
            {
                // Failure before the process existed: nothing to undo but our descriptors.
                arena.Dispose();
                if (doorbell >= 0) Native.close(doorbell);
                if (imageFd >= 0) Native.close(imageFd);
                p.Priv.Clear();
            }
        }
    }

    private List<string> ComponentEnvironment(string name)
    {
        var env = new Dictionary<string, string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            env[(string)e.Key] = (string?)e.Value ?? "";
        foreach (var (k, v) in _opt.Environment) env[k] = v;
        env[ChannelLayout.KernelPidVariable] = HostPid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env[ChannelLayout.NameVariable] = name;
        AddJailEnvironment(env);
        return env.Select(kv => $"{kv.Key}={kv.Value}").ToList();
    }

    /// <summary>The host process of <paramref name="p"/> exited: collect its status and clean up.</summary>
    private void HandleExit(Proc p)
    {
        Native.SigInfo info;
        info.Pid = 0;
        if (Native.waitid(Native.P_PIDFD, p.Pidfd, &info, Native.WEXITED | Native.WNOHANG) != 0 || info.Pid == 0)
            return; // not exited yet (spurious wakeup)
        var exit = new ExitInfo
        {
            Endpoint = p.Endpoint,
            HostPid = p.HostPid,
            Name = ProcessName.From(p.Name),
            How = info.Code switch
            {
                Native.CLD_EXITED => ExitInfo.Exited,
                Native.CLD_DUMPED => ExitInfo.Dumped,
                _ => ExitInfo.Signaled,
            },
            Status = info.Status,
        };
        if (exit.How != ExitInfo.Exited) CountCpuDenial(p, exit.Status);
        SignalGroup(p, Native.SIGKILL); // a host program's children end with it
        Retire(p, exit);
    }

    /// <summary>Makes <paramref name="p"/>'s endpoint dead: unblocks everyone waiting on it with
    /// EDEADSRCDST, drops its pending notifications and async messages, releases its host
    /// resources, and leaves an exit report for its parent of record.</summary>
    private void Retire(Proc p, in ExitInfo exit)
    {
        int ep = p.Endpoint;
        int idx = SenderIndex(p.Slot);
        // Its own blocking state: leave the queue it waits in.
        if (p.Sending && ProcOf(p.SendTo) is { } dst) Unqueue(dst, p);
        // Everyone queued to send to it.
        for (var q = p.CallerQueue; q is not null;)
        {
            var next = q.NextInQueue;
            q.NextInQueue = null;
            q.Sending = false;
            q.ReplyPending = false;
            Complete(q, Err.EDEADSRCDST);
            q = next;
        }
        p.CallerQueue = null;
        foreach (var q in _procs)
        {
            if (!q.Alive || q == p) continue;
            if (q.Receiving && q.GetFrom == ep)
            {
                q.Receiving = false;
                q.ReplyPending = false;
                Complete(q, Err.EDEADSRCDST);
            }
            Bits.Clear(q.NotifyPending, idx);
            Bits.Clear(q.AsyncPending, idx);
            // The right to reach a restartable boot process names its fixed endpoint, which its
            // next instance gets again; any other endpoint dies with its process.
            if (p.BootSpec is null) q.Priv.Forget(p.Slot);
            if (q.Parent == ep) q.Parent = Endpoint.Kernel; // orphans are the kernel's
        }
        RemoveIrqHooks(p);
        DropImagesOf(p);
        // Zombie children of the dead parent are nobody's now.
        foreach (var z in _procs)
            if (z.State == ProcState.Zombie && z.Parent == ep) Free(z);

        EpollDel(p.Doorbell);
        EpollDel(p.Pidfd);
        CloseSeccomp(p);
        Native.close(p.Doorbell);
        Native.close(p.Pidfd);
        if (p.ImageFd >= 0) Native.close(p.ImageFd);
        p.Doorbell = p.Pidfd = p.ImageFd = -1;
        ReleaseDma(p);
        p.Arena?.Dispose();
        p.Arena = null;
        p.ResetIpc();
        p.Priv.Clear();
        p.Exit = exit;
        p.State = ProcState.Zombie;

        if (ProcOf(p.Parent) is { } parent)
        {
            RaiseSignal(parent, KernelSignal.ChildExited);
        }
        else
        {
            Free(p);
            LogExit(exit);
            KernelChildExited?.Invoke(exit);
        }
    }

    private void Free(Proc p)
    {
        p.State = ProcState.Free;
        p.Parent = Endpoint.None;
    }

    private void LogExit(in ExitInfo e)
    {
        string how = e.How == ExitInfo.Exited ? $"exited with status {e.Status}" : $"killed by signal {e.Status}";
        Log("kernel", $"{e.Name} (endpoint {e.Endpoint}, pid {e.HostPid}) {how}");
    }

    private void KillAll()
    {
        foreach (var p in _procs)
        {
            if (!p.Alive) continue;
            SignalGroup(p, Native.SIGKILL);
            Native.PidfdSendSignal(p.Pidfd, Native.SIGKILL);
        }
        foreach (var p in _procs)
        {
            if (!p.Alive) continue;
            Native.SigInfo info;
            Native.waitid(Native.P_PIDFD, p.Pidfd, &info, Native.WEXITED);
            EpollDel(p.Doorbell);
            EpollDel(p.Pidfd);
            CloseSeccomp(p);
            Native.close(p.Doorbell);
            Native.close(p.Pidfd);
            if (p.ImageFd >= 0) Native.close(p.ImageFd);
            ReleaseDma(p);
            p.Arena?.Dispose();
            p.Arena = null;
            p.State = ProcState.Free;
        }
        DropImagesOf(null);
    }

    /// <summary>Sends a host signal to a live process (kernel thread).</summary>
    private int SignalProc(Proc p, int sig)
    {
        SignalGroup(p, sig);
        return Native.PidfdSendSignal(p.Pidfd, sig) == 0 ? Err.Ok : Err.ESRCH;
    }

    /// <summary>Host-side kill (control socket, tests).</summary>
    public int Kill(int endpoint, int signal) =>
        Invoke(() => ProcOf(endpoint) is { } p ? SignalProc(p, signal) : Err.EDEADSRCDST);

    /// <summary>A snapshot of the process table.</summary>
    /// <summary>Endpoints of the live processes that may use I/O port <paramref name="port"/>
    /// (from their policy or granted by the PCI-bus driver) — who drives a device.</summary>
    public IReadOnlyList<int> PortHolders(int port) => Invoke(() =>
        (IReadOnlyList<int>)_procs.Where(p => p.Alive && p.Priv.PortsAllowed(port, 1)).Select(p => p.Endpoint).ToList());

    public IReadOnlyList<ProcInfo> ProcessTable() => Invoke(() =>
    {
        var rows = new List<ProcInfo>();
        foreach (var p in _procs)
            if (p.State != ProcState.Free) rows.Add(InfoOf(p));
        return rows;
    });

    private ProcInfo InfoOf(Proc p) => new()
    {
        Slot = p.Slot,
        Endpoint = p.Endpoint,
        State = p.IpcState,
        HostPid = p.HostPid,
        Parent = p.Parent,
        Flags = p.Priv.Flags,
        Level = p.Level,
        BlockedOn = p.Alive ? p.BlockedOn : Endpoint.None,
        CpuNs = p.Alive ? Math.Max(0, Native.ProcessCpuNs(p.HostPid)) : 0,
        Traps = p.Traps,
        Denials = p.DenialCount,
        StartUptimeNs = p.StartNs,
        Name = ProcessName.From(p.Name),
        HostUid = p.HostUid,
        Confinement = ConfinementOf(p),
        BootInstance = p.BootSpec is null ? 0 : p.BootStarts,
    };
}
