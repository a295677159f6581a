// Host confinement in the kernel (docs/confinement.md): every process starts through the jail
// (Host/Jail/HostJail.cs) — its own uid, no capabilities, no_new_privs, the instance's
// namespaces, a read-only file view, resource limits and the seccomp allowlist — and a host
// system call outside the allowlist arrives here as a seccomp user notification on the
// process's listener, in the same epoll set as its doorbell. The kernel answers EPERM and
// counts the call in the denial table ("host system call not allowed", with its number and
// name in the log), exactly like an IPC or device access the policy does not give.
//
// Rules: a listener is read only when epoll says a notification is there, so the loop never
// blocks on a component; one notification per event keeps one noisy process from starving the
// rest; a listener whose process is gone (HUP) leaves the epoll set at once.
using Bulkhead.Kernel.Host;
using Bulkhead.Kernel.Host.Jail;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed unsafe partial class Kernel
{
    private const ulong TagSeccomp = 5UL << 56;
    private const int EPERM = 1;

    /// <summary>Null only for an unconfined kernel (benchmark comparisons).</summary>
    private readonly HostJail? _jail;

    /// <summary>True when every process this kernel starts is confined.</summary>
    public bool Confined => _jail is not null;

    /// <summary>Host uids per instance: components are UidBase + slot, scripts the upper half.</summary>
    public const int UidBlockSize = HostJail.UidBlockSize;

    /// <summary>First host uid of this instance (each slot adds one); 0 when unconfined.</summary>
    public uint UidBase => _jail?.UidBase ?? 0;

    /// <summary>Length in BPF instructions of the Native and JIT seccomp programs.</summary>
    public IReadOnlyList<int> FilterLengths => _jail?.FilterLength ?? [];

    /// <summary>Starts the host process of <paramref name="p"/>: through the jail when the kernel
    /// is confined, plainly otherwise. <paramref name="execFd"/> is an in-memory image (or -1
    /// to run <paramref name="path"/>). Gives the host pid or a negative errno.</summary>
    private int StartHost(Proc p, string path, int execFd, List<string> argv, List<string> env,
                          (int Source, int Target)[] channel, JailView view)
    {
        p.SeccompFd = -1;
        if (_jail is null)
        {
            string exe = execFd >= 0 ? $"/proc/self/fd/{execFd}" : path;
            return HostSpawner.Spawn(exe, argv, env, channel, execFd);
        }
        int fd = execFd;
        if (fd < 0)
        {
            fd = Native.open(path, Native.O_RDONLY | Native.O_CLOEXEC, 0);
            if (fd < 0) return -Native.Errno;
        }
        try
        {
            var profile = view == JailView.Script ? FilterProfile.Script
                : execFd >= 0 ? FilterProfile.Native : HostJail.ProfileOf(path);
            uint uid = _jail.UidOf(p.Slot, script: profile == FilterProfile.Script);
            int pid = _jail.Spawn(fd, argv, env, uid, view, profile, HostPid, channel, out int listener);
            if (pid < 0) return pid;
            p.SeccompFd = listener;
            p.HostUid = uid;
            p.View = view;
            p.Profile = profile;
            return pid;
        }
        finally
        {
            if (execFd < 0) Native.close(fd);
        }
    }

    /// <summary>Starts a host program for RS (SPAWN Script): /bin/sh reads the script at
    /// <paramref name="path"/> on its stdin, with <paramref name="args"/> after it and the
    /// script's path as $0, under the Script profile and view and a uid of the block's second
    /// half. It gets no IPC; the kernel still watches it like any process and reports its exit
    /// to <paramref name="parent"/>. The script must be a regular file anyone may read: it runs
    /// without privilege, and the kernel opens nothing for it that its uid could not.</summary>
    private int SpawnScript(string name, string path, List<string> args, int parent, out int hostPid)
    {
        hostPid = 0;
        if (!Path.IsPathFullyQualified(path)) return Err.EINVAL;
        var info = new FileInfo(path);
        if (!info.Exists || info.LinkTarget is not null && info.ResolveLinkTarget(true) is not FileInfo { Exists: true }) return Err.ENOENT;
        if ((info.UnixFileMode & UnixFileMode.OtherRead) == 0) return Err.EACCES;
        int fd = Native.open(path, Native.O_RDONLY | Native.O_CLOEXEC, 0);
        if (fd < 0) return Err.ENOENT;
        try
        {
            return SpawnOnThread(name, ScriptShell, default, ["-s", .. args], default, -1, parent, 0, out hostPid,
                                 stdinFd: fd, files: JailView.Script, argv0: path);
        }
        finally
        {
            Native.close(fd);
        }
    }

    /// <summary>The shell recovery scripts run under (thesis Fig. 4.2: /bin/sh).</summary>
    private const string ScriptShell = "/bin/sh";

    /// <summary>Sends <paramref name="sig"/> to a host program's whole process group (the
    /// script and everything it started), which its filter keeps it from leaving.</summary>
    private static void SignalGroup(Proc p, int sig)
    {
        if (p.Profile == FilterProfile.Script && p.HostPid > 0) Native.kill(-p.HostPid, sig);
    }

    /// <summary>What every confined component's environment adds: the JIT without W^X double
    /// mapping (it would need memfd_create) and without the diagnostics socket.</summary>
    private void AddJailEnvironment(Dictionary<string, string> env)
    {
        if (_jail is null) return;
        env["DOTNET_EnableWriteXorExecute"] = "0";
        env["DOTNET_EnableDiagnostics"] = "0";
        env["TMPDIR"] = "/nonexistent";
    }

    /// <summary>A seccomp notification (or hang-up) on <paramref name="p"/>'s listener.</summary>
    private void HandleSeccomp(Proc p, uint events)
    {
        if (p.SeccompFd < 0) return;
        if ((events & Native.EPOLLIN) == 0)
        {
            // HUP without a notification: the process is gone; its pidfd does the rest.
            EpollDel(p.SeccompFd);
            return;
        }
        Native.SeccompNotif n = default;
        if (Native.ioctl(p.SeccompFd, Native.SECCOMP_IOCTL_NOTIF_RECV, &n) != 0) return; // the caller died meanwhile
        var resp = new Native.SeccompNotifResp { Id = n.Id, Error = -EPERM };
        Native.ioctl(p.SeccompFd, Native.SECCOMP_IOCTL_NOTIF_SEND, &resp);
        p.HostCallsDenied++;
        string call = n.Arch == 0xC000003E && (n.Nr & 0x40000000) == 0 ? $"{Syscalls.Name(n.Nr)} ({n.Nr})"
                    : (n.Nr & 0x40000000) != 0 ? $"x32 call {n.Nr & ~0x40000000}" : $"call {n.Nr} of architecture 0x{n.Arch:x}";
        CountDenial(p, Denial.HostCallNotAllowed, call);
    }

    private void CloseSeccomp(Proc p)
    {
        if (p.SeccompFd < 0) return;
        EpollDel(p.SeccompFd);
        Native.close(p.SeccompFd);
        p.SeccompFd = -1;
    }

    /// <summary>The confinement of <paramref name="p"/> as ProcInfo reports it.</summary>
    private uint ConfinementOf(Proc p) =>
        p.SeccompFd < 0 && p.HostUid == 0 ? 0
        : ProcInfo.ConfinedFlag | (p.Profile == FilterProfile.Jit ? ProcInfo.JitFilterFlag : 0) | (p.View == JailView.Host ? ProcInfo.HostViewFlag : 0)
          | (p.Profile == FilterProfile.Script ? ProcInfo.ScriptFlag : 0);
}
