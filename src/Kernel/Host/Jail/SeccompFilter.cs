// The host system-call allowlist of every component (docs/confinement.md), compiled once at
// boot into a classic-BPF seccomp program that bulkhead-jail loads before the component's
// first instruction. A call on the list is allowed (some only with the arguments given);
// clone3 answers ENOSYS so that glibc falls back to clone, where only thread creation passes;
// every other call — and any call of another ABI (i386, x32) — goes to the kernel as a seccomp
// user notification, which the kernel counts as a denial and answers EPERM (SeccompListener).
//
// Interface: Build(profile) gives the program as bytes (struct sock_filter[]); Allowed lists
// the calls with the reason each is there (docs and `./bulkhead stats --confinement`).
// Rules: the program is a chain of blocks, one per allowed call: `jeq nr` skips a block that
// does not match without touching the accumulator, and a block that loads an argument always
// ends in a return, so no block sees another's state. Each block is short, so every jump fits
// BPF's 8-bit offsets. The constant SelfPid stands for the component's own pid; bulkhead-jail
// replaces it before loading the program.
using System.Runtime.InteropServices;

namespace Bulkhead.Kernel.Host.Jail;

/// <summary>Which allowlist a process gets.</summary>
public enum FilterProfile
{
    /// <summary>Native code (NativeAOT components, any native binary): no writable and
    /// executable memory at once, no executable shared mappings.</summary>
    Native,
    /// <summary>A framework-dependent .NET program run by the JIT (tests, development): the JIT
    /// needs memory that is writable and executable; everything else as Native.</summary>
    Jit,
    /// <summary>A host program RS runs (a recovery script: /bin/sh, the `service` command): it
    /// starts processes of its own, so it gets a denylist instead — no new namespaces, mounts,
    /// tracing, kernel interfaces, sessions or process groups, no sockets but Unix ones —
    /// whose refusals answer EPERM without a notification.</summary>
    Script,
}

internal static class SeccompFilter
{
    /// <summary>Placeholder for the process's own pid (bulkhead-jail patches it).</summary>
    public const uint SelfPid = 0x7FFFFF01;
    /// <summary>The jail's descriptors (bulkhead-jail.c): the executable and the kernel socket.</summary>
    public const int ExecFd = 1000;
    public const int ControlFd = 1001;

    private const uint AuditArchX8664 = 0xC000003E;
    private const uint X32Bit = 0x40000000;
    private const uint RetAllow = 0x7FFF0000;
    private const uint RetNotify = 0x7FC00000;
    private const uint RetErrno = 0x00050000;
    private const uint ENOSYS = 38;

    // classic BPF opcodes
    private const ushort LdAbs = 0x20;   // BPF_LD | BPF_W | BPF_ABS
    private const ushort Jeq = 0x15;     // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort Jset = 0x45;    // BPF_JMP | BPF_JSET | BPF_K
    private const ushort Ja = 0x05;      // BPF_JMP | BPF_JA
    private const ushort AndK = 0x54;    // BPF_ALU | BPF_AND | BPF_K
    private const ushort Ret = 0x06;     // BPF_RET | BPF_K

    // struct seccomp_data
    private const uint OffNr = 0;
    private const uint OffArch = 4;
    private static uint ArgLo(int i) => 16 + 8 * (uint)i;
    private static uint ArgHi(int i) => 20 + 8 * (uint)i;

    private const ulong GlibcThreadFlags = 0x3D0F00; // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    private const uint AtEmptyPath = 0x1000;

    [StructLayout(LayoutKind.Sequential)]
    public struct Insn(ushort code, byte jt, byte jf, uint k)
    {
        public ushort Code = code;
        public byte Jt = jt;
        public byte Jf = jf;
        public uint K = k;
    }

    /// <summary>A call allowed with every argument, and why a component needs it.</summary>
    public readonly record struct Rule(string Name, string Why, string Arguments = "");

    /// <summary>Calls allowed with any argument, the hottest first (the host caches their
    /// verdict, so order matters only for the first call).</summary>
    public static readonly Rule[] Unconditional =
    [
        new("futex", "waiting on the kernel page (IPC), runtime locks"),
        new("write", "the doorbell; console output"),
        new("read", "runtime start-up files, console input of puppets"),
        new("close", "runtime start-up"),
        new("sched_yield", "runtime spin waits"),
        new("getpid", "runtime"),
        new("gettid", "runtime"),
        new("clock_gettime", "time (vDSO fallback)"),
        new("clock_getres", "runtime time source"),
        new("clock_nanosleep", "Thread.Sleep"),
        new("nanosleep", "Thread.Sleep"),
        new("gettimeofday", "time (vDSO fallback)"),
        new("munmap", "memory management"),
        new("madvise", "GC decommit"),
        new("mremap", "memory management"),
        new("brk", "libc heap"),
        new("rt_sigaction", "runtime signal handlers"),
        new("rt_sigprocmask", "runtime signal masks"),
        new("rt_sigreturn", "return from a signal handler"),
        new("sigaltstack", "runtime signal stacks"),
        new("restart_syscall", "restarted sleeps"),
        new("exit", "thread exit"),
        new("exit_group", "process exit"),
        new("openat", "runtime start-up: ld.so, libraries, /proc/self, /sys cpu sizes (read-only root)"),
        new("newfstatat", "runtime start-up"),
        new("fstat", "runtime start-up"),
        new("stat", "runtime start-up"),
        new("lstat", "runtime start-up"),
        new("statx", "runtime start-up"),
        new("statfs", "runtime start-up (cgroup detection)"),
        new("fstatfs", "runtime start-up"),
        new("access", "ld.so"),
        new("faccessat", "runtime start-up"),
        new("faccessat2", "runtime start-up"),
        new("readlink", "runtime start-up (/proc/self/exe)"),
        new("readlinkat", "runtime start-up"),
        new("getdents64", "runtime start-up (/sys cpu list)"),
        new("lseek", "runtime start-up"),
        new("pread64", "ld.so, runtime start-up"),
        new("readv", "runtime"),
        new("writev", "console output"),
        new("getcwd", "runtime start-up"),
        new("flock", "file locks of host-view servers"),
        new("pipe2", "runtime signal-handling thread, console"),
        new("poll", "runtime signal-handling thread"),
        new("ppoll", "runtime signal-handling thread"),
        new("set_tid_address", "thread start"),
        new("set_robust_list", "thread start"),
        new("rseq", "thread start"),
        new("getrandom", "runtime hash seeds"),
        new("membarrier", "GC (FlushProcessWriteBuffers)"),
        new("sched_getaffinity", "runtime CPU count"),
        new("sched_getparam", "runtime thread priorities"),
        new("sched_getscheduler", "runtime thread priorities"),
        new("sched_get_priority_max", "runtime thread priorities"),
        new("sched_get_priority_min", "runtime thread priorities"),
        new("get_mempolicy", "runtime NUMA probe"),
        new("getcpu", "runtime (current CPU)"),
        new("sysinfo", "runtime memory size"),
        new("uname", "libc"),
        new("getrlimit", "runtime stack size"),
        new("getrusage", "runtime"),
        new("getuid", "runtime"),
        new("geteuid", "runtime"),
        new("getgid", "runtime"),
        new("getegid", "runtime"),
        new("getppid", "component library: is the kernel still my parent"),
        new("getsid", "runtime start-up"),
        new("sched_setaffinity", "runtime thread placement (another uid's threads are out of reach)"),
    ];

    /// <summary>Calls allowed only with the arguments described.</summary>
    public static readonly Rule[] Conditional =
    [
        new("mmap", "memory", "not writable and executable at once (JIT profile: allowed); not executable and shared; not shared anonymous memory (RLIMIT_DATA would not count it)"),
        new("mprotect", "memory", "not writable and executable at once (JIT profile: allowed)"),
        new("clone", "threads", "exactly glibc's thread flags: threads, never processes"),
        new("clone3", "threads", "answers ENOSYS, so glibc falls back to clone"),
        new("kill", "runtime", "only to its own pid"),
        new("tgkill", "GC thread suspension", "only to threads of its own pid"),
        new("prctl", "thread names, parent-death signal", "PR_SET/GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET/GET_NAME, PR_SET_VMA, PR_GET_NO_NEW_PRIVS, PR_CAPBSET_READ, PR_GET_SECCOMP"),
        new("arch_prctl", "thread-local storage", "ARCH_SET_FS, ARCH_GET_FS"),
        new("sched_setscheduler", "runtime (a JIT thread resets itself to SCHED_OTHER at exit)", "only SCHED_OTHER; RLIMIT_NICE 0 keeps a thread the kernel demoted from leaving SCHED_IDLE"),
        new("ioctl", "console", "TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX"),
        new("fcntl", "descriptors", "F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL, record and OFD locks"),
        new("prlimit64", "runtime (raises its soft descriptor limit to the hard one)", "only its own limits (pid 0); no hard limit can rise without privilege"),
        new("sendmsg", "bulkhead-jail", "only on fd 1001, the jail's socket to the kernel (closed before the component runs)"),
        new("execveat", "bulkhead-jail", "only of fd 1000, the jail's executable (closed by that exec)"),
    ];

    /// <summary>What the Script profile refuses (everything else is allowed).</summary>
    public static readonly string[] ScriptDenied =
    [
        "setsid", "setpgid", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr",
        "move_mount", "open_tree", "fsopen", "fsmount", "fspick", "ptrace", "process_vm_readv", "process_vm_writev",
        "pidfd_getfd", "kcmp", "io_uring_setup", "io_uring_enter", "io_uring_register", "perf_event_open", "bpf",
        "keyctl", "add_key", "request_key", "userfaultfd", "kexec_load", "kexec_file_load", "init_module",
        "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime",
        "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "fanotify_init",
        "open_by_handle_at", "name_to_handle_at", "quotactl", "vhangup", "memfd_create", "personality",
    ];

    /// <summary>Every call of the allowlist, unconditional and conditional.</summary>
    public static IEnumerable<Rule> Allowed => Unconditional.Concat(Conditional);

    /// <summary>The program for <paramref name="profile"/> as raw struct sock_filter bytes.</summary>
    public static byte[] Build(FilterProfile profile)
    {
        var code = Program(profile);
        if (code.Count > 4096) throw new InvalidOperationException("seccomp program longer than BPF_MAXINSNS");
        return MemoryMarshal.AsBytes(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(code)).ToArray();
    }

    /// <summary>The program as instructions (tests run it through an interpreter).</summary>
    public static List<Insn> Program(FilterProfile profile)
    {
        if (profile == FilterProfile.Script) return ScriptProgram();
        var p = new List<Insn>
        {
            new(LdAbs, 0, 0, OffArch),
            new(Jeq, 1, 0, AuditArchX8664),
            new(Ret, 0, 0, RetNotify),
            new(LdAbs, 0, 0, OffNr),
            new(Jset, 0, 1, X32Bit),
            new(Ret, 0, 0, RetNotify),
        };
        foreach (var r in Unconditional)
        {
            p.Add(new(Jeq, 0, 1, (uint)Syscalls.Number(r.Name)));
            p.Add(new(Ret, 0, 0, RetAllow));
        }
        Block(p, "mmap", Mmap(profile));
        Block(p, "mprotect", profile == FilterProfile.Jit ? [Allow()] : Mprotect());
        Block(p, "clone", [.. ArgEquals(0, GlibcThreadFlags), Allow()]);
        Block(p, "clone3", [new(Ret, 0, 0, RetErrno | ENOSYS)]);
        Block(p, "kill", [.. ArgLoEquals(0, SelfPid), Allow()]);
        Block(p, "tgkill", [.. ArgLoEquals(0, SelfPid), Allow()]);
        Block(p, "prctl", ArgLoIn(0, [1, 2, 3, 15, 16, 0x53564D41, 39, 23, 21]));
        Block(p, "arch_prctl", ArgLoIn(0, [0x1002, 0x1003]));
        Block(p, "sched_setscheduler", [.. ArgLoEquals(1, 0), Allow()]);
        Block(p, "ioctl", ArgLoIn(1, [0x5401, 0x5413, 0x541B, 0x5421, 0x5451, 0x5450]));
        Block(p, "fcntl", ArgLoIn(1, [0, 1, 2, 3, 4, 1030, 5, 6, 7, 36, 37, 38]));
        Block(p, "prlimit64", [.. ArgLoEquals(0, 0), Allow()]);
        Block(p, "sendmsg", [.. ArgLoEquals(0, ControlFd), Allow()]);
        Block(p, "execveat", [.. ArgLoEquals(0, ExecFd), .. ArgLoEquals(4, AtEmptyPath), Allow()]);
        p.Add(new(Ret, 0, 0, RetNotify));
        return p;
    }

    private static List<Insn> ScriptProgram()
    {
        const uint deny = RetErrno | 1; // EPERM
        const uint killProcess = 0x80000000;
        var p = new List<Insn>
        {
            new(LdAbs, 0, 0, OffArch),
            new(Jeq, 1, 0, AuditArchX8664),
            new(Ret, 0, 0, killProcess),
            new(LdAbs, 0, 0, OffNr),
            new(Jset, 0, 1, X32Bit),
            new(Ret, 0, 0, killProcess),
        };
        foreach (var name in ScriptDenied)
        {
            p.Add(new(Jeq, 0, 1, (uint)Syscalls.Number(name)));
            p.Add(new(Ret, 0, 0, deny));
        }
        // Sockets: Unix only (the `service` command talks to the instance's socket).
        foreach (var name in new[] { "socket", "socketpair" })
        {
            p.Add(new(Jeq, 0, 4, (uint)Syscalls.Number(name)));
            p.Add(new(LdAbs, 0, 0, ArgLo(0)));
            p.Add(new(Jeq, 0, 1, 1)); // AF_UNIX
            p.Add(new(Ret, 0, 0, RetAllow));
            p.Add(new(Ret, 0, 0, deny));
        }
        p.Add(new(Ret, 0, 0, RetAllow));
        return p;
    }

    // A block's body uses two pseudo-jumps resolved by Block: jf = Deny (to the block's final
    // notify) in argument checks, and Allow() as an explicit return.
    private const byte ToDeny = 0xFF;

    private static Insn Allow() => new(Ret, 0, 0, RetAllow);

    /// <summary>Appends `if nr == name { body; notify }` with every ToDeny jump resolved.</summary>
    private static void Block(List<Insn> p, string name, List<Insn> body)
    {
        int n = body.Count + 1; // + the final notify
        if (n > 250) throw new InvalidOperationException($"seccomp block {name} too long");
        p.Add(new(Jeq, 0, (byte)n, (uint)Syscalls.Number(name)));
        for (int i = 0; i < body.Count; i++)
        {
            var ins = body[i];
            int toDeny = body.Count - i - 1; // offset from the next instruction to the final notify
            if (ins.Jt == ToDeny) ins.Jt = (byte)toDeny;
            if (ins.Jf == ToDeny) ins.Jf = (byte)toDeny;
            p.Add(ins);
        }
        p.Add(new(Ret, 0, 0, RetNotify));
    }

    /// <summary>Falls through when the low half of argument <paramref name="i"/> is <paramref name="v"/>.</summary>
    private static List<Insn> ArgLoEquals(int i, uint v) => [new(LdAbs, 0, 0, ArgLo(i)), new(Jeq, 0, ToDeny, v)];

    /// <summary>Falls through when the whole 64-bit argument is <paramref name="v"/>.</summary>
    private static List<Insn> ArgEquals(int i, ulong v) =>
        [new(LdAbs, 0, 0, ArgHi(i)), new(Jeq, 0, ToDeny, (uint)(v >> 32)), new(LdAbs, 0, 0, ArgLo(i)), new(Jeq, 0, ToDeny, (uint)v)];

    /// <summary>Allows when the low half of argument <paramref name="i"/> is one of <paramref name="values"/>.</summary>
    private static List<Insn> ArgLoIn(int i, uint[] values)
    {
        var b = new List<Insn> { new(LdAbs, 0, 0, ArgLo(i)) };
        for (int k = 0; k < values.Length; k++)
            b.Add(new(Jeq, (byte)(values.Length - k), 0, values[k])); // to the Allow after the Ja
        b.Add(new(Ja, 0, 0, 1));  // none matched: skip the Allow, into the block's notify
        b.Add(Allow());
        return b;
    }

    private static List<Insn> Mmap(FilterProfile profile)
    {
        const uint shared = 0x01, anonymous = 0x20, write = 0x2, exec = 0x4;
        var b = new List<Insn>
        {
            new(LdAbs, 0, 0, ArgLo(3)),            // flags
            new(AndK, 0, 0, shared | anonymous),
            new(Jeq, ToDeny, 0, shared | anonymous), // shared anonymous memory
            new(LdAbs, 0, 0, ArgLo(2)),            // prot
        };
        if (profile == FilterProfile.Native)
        {
            b.Add(new(AndK, 0, 0, write | exec));
            b.Add(new(Jeq, ToDeny, 0, write | exec));
            b.Add(new(LdAbs, 0, 0, ArgLo(2)));
        }
        b.Add(new(Jset, 0, 2, exec));             // executable: must not be shared
        b.Add(new(LdAbs, 0, 0, ArgLo(3)));
        b.Add(new(Jset, ToDeny, 0, shared));
        b.Add(Allow());
        return b;
    }

    private static List<Insn> Mprotect()
    {
        const uint write = 0x2, exec = 0x4;
        return [new(LdAbs, 0, 0, ArgLo(2)), new(AndK, 0, 0, write | exec), new(Jeq, ToDeny, 0, write | exec), Allow()];
    }
}
