// Host confinement of every component (ARCHITECTURE.md §1 "Host confinement",
// docs/confinement.md). Built once at boot, used at every spawn:
//   * a block of 65,536 host uids claimed for this instance (a lock file per block under
//     /run/bulkhead-uids), so every process gets a uid of its own — base + slot — and no
//     two instances share one;
//   * namespaces made once by bulkhead-jail prepare: network (nothing but a down loopback),
//     IPC and UTS shared by all components, and one mount namespace per file view: Bare (the
//     shared libraries, the instance's program directories, /proc showing only the viewer's
//     own processes, four device nodes; all read-only) and Host (the host's file system
//     read-only, for the servers whose boot entry says `files host;`: RS and init read the
//     policies, scripts and binaries an administrator names);
//   * the seccomp programs of SeccompFilter, one per profile, in sealed memfds.
// Spawn then starts bulkhead-jail exec with the channel, the executable and those descriptors;
// the helper confines itself and executes the component in place, so the pid the kernel
// watches is the component's from its first instruction. The seccomp listener comes back
// over a socketpair and goes into the kernel's epoll set (SeccompListener).
//
// Rules: a jail that cannot be built is a boot error with the reason (never a silently
// unconfined system); the per-spawn path does no file-system work but opening the binary.
using System.Globalization;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Kernel.Host.Jail;

/// <summary>What a process may see of the host's files.</summary>
public enum JailView
{
    /// <summary>Shared libraries, the instance's program directories, /proc (own processes
    /// only), /dev/null, zero, random, urandom; all read-only.</summary>
    Bare,
    /// <summary>The host's file system read-only (files the process's uid may read).</summary>
    Host,
    /// <summary>Bare plus the host's programs (/usr/bin) and JailOptions.ScriptBinds: what a
    /// recovery script needs (the shell, sleep, the instance's `service` command).</summary>
    Script,
}

/// <summary>Confinement settings of a kernel instance.</summary>
public sealed class JailOptions
{
    /// <summary>Directories every component may read (program directories; the .NET runtime
    /// is added when one of them holds a framework-dependent program).</summary>
    public IReadOnlyList<string> ReadOnlyPaths { get; init; } = [AppContext.BaseDirectory];
    /// <summary>RLIMIT_DATA of every component: private writable memory (heap, stacks).</summary>
    public long DataLimitBytes { get; init; } = 1L << 30;
    /// <summary>RLIMIT_NPROC of every component: its threads (each process has its own uid).</summary>
    public int ThreadLimit { get; init; } = 64;
    /// <summary>Extra read-only binds (host path, path inside) of the Script view: the
    /// instance's `service` command and the socket it talks to.</summary>
    public IReadOnlyList<(string Source, string Target)> ScriptBinds { get; init; } = [];
    /// <summary>The bulkhead-jail helper; default: next to the kernel's assembly.</summary>
    public string? HelperPath { get; init; }
}

internal sealed unsafe class HostJail : IDisposable
{
    public const int UidBlockSize = 0x10000;
    public const uint UidBlockBase = 0x50000000;
    private const string UidLockDir = "/run/bulkhead-uids";
    private const int MaxUidBlocks = 4096;

    private const int FdExec = 1000, FdControl = 1001, FdFilter = 1002, FdMnt = 1003, FdNet = 1004, FdIpc = 1005, FdUts = 1006;
    private const int FlagFilter = 1, FlagNoListener = 2, FlagReaper = 4;
    /// <summary>Script uids are the second half of the block: base + ScriptUidOffset + slot.</summary>
    private const uint ScriptUidOffset = 0x8000;

    private readonly JailOptions _opt;
    private readonly string _helper;
    private int _uidLock = -1;
    private int _netNs = -1, _ipcNs = -1, _utsNs = -1;
    private readonly int[] _mountNs = [-1, -1, -1];
    private readonly int[] _filters = [-1, -1, -1];

    /// <summary>First uid of this instance's block.</summary>
    public uint UidBase { get; private set; }
    /// <summary>Instructions of the Native, JIT and Script seccomp programs.</summary>
    public int[] FilterLength { get; } = new int[3];

    private HostJail(JailOptions options, string helper)
    {
        _opt = options;
        _helper = helper;
    }

    /// <summary>Builds the jail; throws <see cref="InvalidOperationException"/> with the reason
    /// when the host cannot confine components (not root, no helper, no namespaces).</summary>
    public static HostJail Create(JailOptions options)
    {
        string helper = options.HelperPath ?? Path.Combine(AppContext.BaseDirectory, "bulkhead-jail");
        if (!File.Exists(helper))
            throw new InvalidOperationException($"host confinement: the helper {helper} is missing (it is built with the kernel: cc must be installed)");
        if (Native.geteuid() != 0)
            throw new InvalidOperationException("host confinement needs root: the kernel gives every component a uid of its own and namespaces (run as root)");
        var jail = new HostJail(options, helper);
        try
        {
            jail.ClaimUidBlock();
            jail.Prepare("mnt,net,ipc,uts", jail.BareSpecs(), JailView.Bare, withShared: true);
            jail.Prepare("mnt", ["host", .. ProcAndDevSpecs()], JailView.Host, withShared: false);
            jail.MakeFilter(FilterProfile.Native);
            jail.MakeFilter(FilterProfile.Jit);
            jail.MakeFilter(FilterProfile.Script);
            return jail;
        }
        catch
        {
            jail.Dispose();
            throw;
        }
    }

    /// <summary>The uid of process slot <paramref name="slot"/> (a host program's: the second
    /// half of the block, so a script never shares a uid with a component).</summary>
    public uint UidOf(int slot, bool script = false) => UidBase + (script ? ScriptUidOffset : 0) + (uint)slot;

    /// <summary>Is <paramref name="binary"/> a framework-dependent .NET program (run by the JIT)?</summary>
    public static FilterProfile ProfileOf(string binary) =>
        binary.Length > 0 && File.Exists(Path.ChangeExtension(binary, ".runtimeconfig.json")) ? FilterProfile.Jit : FilterProfile.Native;

    /// <summary>Starts <paramref name="argv"/> confined: executable <paramref name="execFd"/>
    /// (a descriptor of the kernel's), channel and stdio as HostSpawner.Spawn. On success gives
    /// the host pid and the seccomp listener (the caller owns it); else a negative errno.</summary>
    public int Spawn(int execFd, IReadOnlyList<string> argv, IReadOnlyList<string> env, uint uid, JailView view,
                     FilterProfile profile, int kernelPid, ReadOnlySpan<(int Source, int Target)> channel, out int listener)
    {
        listener = -1;
        if (view == JailView.Script && _mountNs[(int)view] < 0)
        {
            // Built at the first script: the instance's socket exists only once it is serving.
            try { Prepare("mnt", ScriptSpecs(), JailView.Script, withShared: false); }
            catch (InvalidOperationException) { return -Native.ENOENT; }
        }
        int* pair = stackalloc int[2];
        if (Native.socketpair(Native.AF_UNIX, Native.SOCK_SEQPACKET | Native.O_CLOEXEC, 0, pair) != 0) return -Native.Errno;
        try
        {
            var fds = new List<(int, int)>(channel.Length + 8);
            foreach (var f in channel) fds.Add(f);
            fds.Add((execFd, FdExec));
            fds.Add((pair[1], FdControl));
            fds.Add((_filters[(int)profile], FdFilter));
            fds.Add((_mountNs[(int)view], FdMnt));
            fds.Add((_netNs, FdNet));
            fds.Add((_ipcNs, FdIpc));
            fds.Add((_utsNs, FdUts));
            var args = new List<string>(argv.Count + 7)
            {
                "bulkhead-jail", "exec",
                uid.ToString(CultureInfo.InvariantCulture),
                kernelPid.ToString(CultureInfo.InvariantCulture),
                _opt.DataLimitBytes.ToString(CultureInfo.InvariantCulture),
                (profile == FilterProfile.Script ? 256 : _opt.ThreadLimit).ToString(CultureInfo.InvariantCulture),
                (profile == FilterProfile.Script ? FlagFilter | FlagNoListener | FlagReaper : FlagFilter).ToString(CultureInfo.InvariantCulture),
            };
            args.AddRange(argv);
            int pid = HostSpawner.Spawn(_helper, args, env, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(fds));
            Native.close(pair[1]);
            pair[1] = -1;
            if (pid < 0) return pid;
            if (profile == FilterProfile.Script) return pid; // refusals answer themselves: no listener
            listener = ReceiveListener(pair[0]);
            if (listener < 0)
            {
                // The helper failed before the exec (it said why on stderr) or never answered.
                int err = listener;
                Native.kill(pid, Native.SIGKILL);
                Reap(pid);
                return err;
            }
            return pid;
        }
        finally
        {
            Native.close(pair[0]);
            if (pair[1] >= 0) Native.close(pair[1]);
        }
    }

    /// <summary>The listener bulkhead-jail sends after loading the filter (waits up to 5 s).</summary>
    private static int ReceiveListener(int sock)
    {
        var pfd = new Native.PollFd { Fd = sock, Events = Native.POLLIN };
        int r;
        do r = Native.poll(&pfd, 1, 5000);
        while (r < 0 && Native.Errno == Native.EINTR);
        if (r <= 0) return -Native.ETIMEDOUT;
        byte data;
        byte* control = stackalloc byte[64];
        var iov = new Native.IoVec { Base = &data, Length = 1 };
        var msg = new Native.MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 64 };
        nint n = Native.recvmsg(sock, &msg, Native.MSG_CMSG_CLOEXEC);
        if (n != 1 || msg.ControlLen < 20) return -Native.ECHILD;
        var hdr = (Native.CmsgHdr*)control;
        if (hdr->Level != Native.SOL_SOCKET || hdr->Type != Native.SCM_RIGHTS) return -Native.ECHILD;
        return *(int*)(control + sizeof(Native.CmsgHdr));
    }

    private static void Reap(int pid)
    {
        int pidfd = Native.PidfdOpen(pid);
        if (pidfd < 0) return;
        Native.SigInfo info;
        Native.waitid(Native.P_PIDFD, pidfd, &info, Native.WEXITED);
        Native.close(pidfd);
    }

    // ---- boot-time preparation ----

    private void ClaimUidBlock()
    {
        Directory.CreateDirectory(UidLockDir);
        for (int block = 0; block < MaxUidBlocks; block++)
        {
            string path = Path.Combine(UidLockDir, block.ToString(CultureInfo.InvariantCulture));
            int fd = Native.open(path, Native.O_RDWR | Native.O_CREAT | Native.O_CLOEXEC, 0x180);
            if (fd < 0) throw new InvalidOperationException($"host confinement: cannot open {path} (errno {Native.Errno})");
            if (Native.flock(fd, Native.LOCK_EX | Native.LOCK_NB) == 0)
            {
                _uidLock = fd;
                UidBase = UidBlockBase + (uint)block * UidBlockSize;
                return;
            }
            Native.close(fd);
        }
        throw new InvalidOperationException($"host confinement: all {MaxUidBlocks} uid blocks are in use");
    }

    private static IEnumerable<string> ProcAndDevSpecs() =>
        ["proc", "dev", "dev:/dev/null", "dev:/dev/zero", "dev:/dev/random", "dev:/dev/urandom"];

    private List<string> BareSpecs()
    {
        var specs = new List<string>();
        // The dynamic loader and the shared libraries, where this host keeps them.
        foreach (var top in new[] { "/lib", "/lib64", "/usr/lib64" })
            if (new FileInfo(top).LinkTarget is not null) specs.Add("link:" + top);
            else if (Directory.Exists(top)) specs.Add("ro:" + top);
        specs.Add("ro:/usr/lib/x86_64-linux-gnu");
        specs.AddRange(ProcAndDevSpecs());
        specs.Add("ro:/sys/devices/system/cpu"); // the runtime's CPU and cache sizes
        foreach (var dir in ProgramDirectories()) specs.Add("ro:" + dir);
        specs.Add("hostname:bulkhead");
        return specs;
    }

    private List<string> ScriptSpecs()
    {
        var specs = BareSpecs();
        specs.Add("ro:/usr/bin");
        if (new FileInfo("/bin").LinkTarget is not null) specs.Add("link:/bin");
        foreach (var (source, target) in _opt.ScriptBinds) specs.Add($"bind:{source}:{target}");
        return specs;
    }

    /// <summary>The configured read-only directories, plus the .NET runtime when one of them
    /// holds a framework-dependent program.</summary>
    private List<string> ProgramDirectories()
    {
        var dirs = _opt.ReadOnlyPaths.Where(Directory.Exists).Select(d => Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))).Distinct().ToList();
        bool jit = dirs.Any(d => Directory.EnumerateFiles(d, "*.runtimeconfig.json").Any());
        if (jit && DotnetRoot() is { } root && !dirs.Contains(root)) dirs.Add(root);
        return dirs;
    }

    /// <summary>The .NET installation: DOTNET_ROOT, else three levels above the framework
    /// directory (ROOT/shared/Microsoft.NETCore.App/VERSION/).</summary>
    private static string? DotnetRoot()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } env && Directory.Exists(env)) return env;
        string root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        return Directory.Exists(root) ? Path.TrimEndingDirectorySeparator(root) : null;
    }

    /// <summary>Runs bulkhead-jail prepare and keeps the namespaces it made.</summary>
    private void Prepare(string namespaces, List<string> specs, JailView view, bool withShared)
    {
        int* inPipe = stackalloc int[2];
        int* outPipe = stackalloc int[2];
        if (Native.pipe2(inPipe, Native.O_CLOEXEC) != 0 || Native.pipe2(outPipe, Native.O_CLOEXEC) != 0)
            throw new InvalidOperationException($"host confinement: pipe2 failed (errno {Native.Errno})");
        int pid = HostSpawner.Spawn(_helper, ["bulkhead-jail", "prepare", namespaces, .. specs],
                                    ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], [(inPipe[0], 0), (outPipe[1], 1), (2, 2)]);
        Native.close(inPipe[0]);
        Native.close(outPipe[1]);
        try
        {
            if (pid < 0) throw new InvalidOperationException($"host confinement: cannot start {_helper} (errno {-pid})");
            string line = ReadLine(outPipe[0]);
            if (!line.StartsWith("ready ", StringComparison.Ordinal))
                throw new InvalidOperationException($"host confinement: bulkhead-jail prepare {namespaces} failed (its message is on stderr)");
            string ns = $"/proc/{pid}/ns/";
            _mountNs[(int)view] = OpenNs(ns + "mnt");
            if (withShared)
            {
                _netNs = OpenNs(ns + "net");
                _ipcNs = OpenNs(ns + "ipc");
                _utsNs = OpenNs(ns + "uts");
            }
            string tmp = line[6..];
            if (tmp != "-") try { Directory.Delete(tmp); } catch (IOException) { }
        }
        finally
        {
            Native.close(inPipe[1]); // the helper exits: the namespaces live on in our descriptors
            Native.close(outPipe[0]);
            if (pid > 0) Reap(pid);
        }
    }

    private static int OpenNs(string path)
    {
        int fd = Native.open(path, Native.O_RDONLY | Native.O_CLOEXEC, 0);
        return fd >= 0 ? fd : throw new InvalidOperationException($"host confinement: cannot open {path} (errno {Native.Errno})");
    }

    private static string ReadLine(int fd)
    {
        var buf = new List<byte>();
        byte b;
        var pfd = new Native.PollFd { Fd = fd, Events = Native.POLLIN };
        while (buf.Count < 4096)
        {
            if (Native.poll(&pfd, 1, 10_000) <= 0) break;
            if (Native.read(fd, &b, 1) != 1 || b == '\n') break;
            buf.Add(b);
        }
        return System.Text.Encoding.UTF8.GetString(buf.ToArray());
    }

    private void MakeFilter(FilterProfile profile)
    {
        byte[] code = SeccompFilter.Build(profile);
        FilterLength[(int)profile] = code.Length / sizeof(SeccompFilter.Insn);
        int fd = Native.memfd_create("bulkhead-seccomp", Native.MFD_CLOEXEC | Native.MFD_ALLOW_SEALING);
        if (fd < 0) throw new InvalidOperationException($"host confinement: memfd_create failed (errno {Native.Errno})");
        fixed (byte* p = code)
            if (Native.write(fd, p, (nuint)code.Length) != code.Length)
                throw new InvalidOperationException($"host confinement: cannot write the seccomp program (errno {Native.Errno})");
        Native.fcntl(fd, Native.F_ADD_SEALS, Native.F_SEAL_SEAL | Native.F_SEAL_SHRINK | Native.F_SEAL_GROW | Native.F_SEAL_WRITE);
        _filters[(int)profile] = fd;
    }

    public void Dispose()
    {
        foreach (int fd in (int[])[_netNs, _ipcNs, _utsNs, .. _mountNs, .. _filters, _uidLock])
            if (fd >= 0) Native.close(fd);
        _netNs = _ipcNs = _utsNs = _uidLock = -1;
        Array.Fill(_mountNs, -1);
        Array.Fill(_filters, -1);
    }
}
