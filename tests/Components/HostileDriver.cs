// hostile-driver: a driver that RS starts like any other (`service up bulkhead-testproc -args
// "hostile-driver …" -label hostile -policy hostile`) and that then tries, on its own, every
// unauthorized access of thesis Fig. 3.1 that a booted Bulkhead can see: the I/O ports and the
// IRQ line of another device, IRQ lines that belong to nobody it knows, grants it was not
// given or with more rights than it was given, DMA pinning outside its arena, DMA for a PCI
// device it does not hold, requests only RS or a trusted driver may make of the PCI-bus driver,
// the IOMMU driver and the kernel, kernel calls outside its policy and numbers that are no
// kernel call, IPC to processes outside its send mask or to no process at all, IPC
// primitives that do not exist or that it may not use, and — the host side of Fig. 3.1
// (docs/confinement.md: "a Linux system call outside the allowlist") — ways out of its host
// confinement: raw Linux system calls (libc syscall, so no runtime wrapper interferes) that
// its seccomp allowlist does not have or does not allow with those arguments: sockets of
// every family, signals, tracing and memory access aimed at the kernel process (its parent),
// processes and programs of its own, namespaces, mounts, privilege, kernel interfaces, I/O
// privilege, another ABI and a number that is no system call. Their arguments are harmless
// (signal 0, NULL pointers, a wrong magic, queries rather than changes), so none could do
// anything lasting even if allowed (a descriptor, mapping or child it got anyway is closed,
// unmapped or exits at once). Each attempt is made exactly once.
//
// Interface. Arguments (after "hostile-driver"), all required:
//   own-io=0xBASE own-irq=N      the card its policy grants (isa io BASE:20, isa irq N)
//   victim-io=0xBASE victim-irq=N another device's ports (0x20 of them) and IRQ line
//   pci-dev=0xBDF pci-io=0xBASE pci-irq=N  a PCI device on the bus (requester id, I/O window
//                                as firmware set it, interrupt line) its policy does not grant
//   peers=EP,EP,...              live processes its policy does not let it reach
// Its policy must grant DEVIO VDEVIO IRQCTL MAPDMA SETGRANT SAFECOPY SYSCTL GETINFO, the
// primitives SEND RECEIVE SENDREC NOTIFY SENDNB (not SENDA), targets that include RS, PCI and
// IOMMU but none of the peers, and no `pci device` or `pci class` (so RS gives the PCI-bus
// driver no ACL for it); everything else it tries must be refused. It must run confined (the
// kernel's jail, JIT profile, bare file view): a host call outside the allowlist reaches the
// kernel as a seccomp notification, which it answers EPERM and counts.
//
// Rules. An attempt passes when it is answered the expected MINIX error, this process's own
// denial count (GETINFO process table) grows by exactly one, and of the kernel's Fig. 5.5
// counters exactly the expected one grows, by exactly one. That holds for refusals by the
// trusted PCI-bus and IOMMU drivers as well: they count a denial against its offender with
// SYSCTL ReportDenial before they answer. A host call passes when it returns -1 with errno
// EPERM and the same counts grow (own +1, 'host system call not allowed' +1, nothing else):
// Linux itself answers EPERM to several of them for want of privilege, so only the count shows
// that the allowlist refused it. A few control calls must get the answer the policy implies
// (OK, or for a malformed request its error; for host calls the allowlist allows, the errno of
// the jail, e.g. ENOENT for a file outside its view) with no denial counted anywhere (else the
// policy was not applied and the attacks prove nothing). The PCI-bus driver holds a request of
// an endpoint without an ACL until a 2 s deadline before it refuses it: the one such attack
// (Reserve) costs 2 s of RS's 10 s initialization deadline, and no other attack waits.
// Every attempt goes to the system log (SYSCTL, which prefixes the process name, i.e. the
// label) as one line ("LABEL: denied …" or "LABEL: NOT DENIED …"), then one summary line:
//   LABEL: summary N attacks, N denied: DevicePortNotAllowed=7 DeviceIrqNotAllowed=2 … HostCallNotAllowed=N
// If any attempt was not denied as expected it panics (exit status 1, RS sees "panic");
// otherwise it reports to RS that its initialization is done and serves (answers RS's
// heartbeats, refuses every request with ENOSYS) until it is stopped.
using System.Globalization;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Iommu;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Pci;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.TestComponents;

internal static unsafe class HostileDriver
{
    private const int CardPorts = 0x20;
    private const int PageSize = 4096;

    private static readonly long[] s_denied = new long[DenialText.Count];
    private static int s_attempts;
    private static int s_failures;

    public static int Run(string[] args)
    {
        ServiceRuntime.Start();
        if (!TryParse(args, out var o, out string error))
        {
            SysCall.Diag(error);
            return 2;
        }
        int self = IpcCall.Self;
        int stale = StaleEndpoint(self);

        // Controls: what the policy grants works and is not counted.
        Control("DEVIO in of its own card's first port", () => SysCall.InPort(o.OwnIo, 1, out _));
        Control("IRQCTL set policy on its own line", () => SysCall.IrqCtl(IrqCtlRequest.SetPolicy, o.OwnIrq, 0));

        // Device I/O on another device's ports (Fig. 3.1: "ports of another device").
        Attack($"DEVIO in 0x{o.VictimIo:x} (the other card's command register)", () => SysCall.InPort(o.VictimIo, 1, out _), Err.EPERM, Denial.DevicePortNotAllowed);
        Attack($"DEVIO out 0x{o.VictimIo:x} = 0x21 (stop the other card)", () => SysCall.OutPort(o.VictimIo, 1, 0x21), Err.EPERM, Denial.DevicePortNotAllowed);
        Attack($"DEVIO in 0x{o.VictimIo + 0x10:x}, 2 bytes (its data port)", () => SysCall.InPort(o.VictimIo + 0x10, 2, out _), Err.EPERM, Denial.DevicePortNotAllowed);
        Attack($"DEVIO in 0x{o.VictimIo + 0x1F:x} (its reset port)", () => SysCall.InPort(o.VictimIo + 0x1F, 1, out _), Err.EPERM, Denial.DevicePortNotAllowed);
        Attack($"DEVIO in 0x{o.OwnIo + CardPorts - 2:x}, 4 bytes (past the end of its own ports)", () => SysCall.InPort(o.OwnIo + CardPorts - 2, 4, out _), Err.EPERM, Denial.DevicePortNotAllowed);
        Attack($"VDEVIO in [0x{o.OwnIo:x}, 0x{o.VictimIo:x}] (one port its own, one not)", () => PortVector(DevIoRequest.Read, (o.OwnIo, 0), (o.VictimIo, 0)), Err.EPERM, Denial.DevicePortNotAllowed);
        Attack($"VDEVIO out [0x{o.OwnIo:x}=0, 0x{o.VictimIo:x}=0x21]", () => PortVector(DevIoRequest.Write, (o.OwnIo, 0), (o.VictimIo, 0x21)), Err.EPERM, Denial.DevicePortNotAllowed);

        // IRQ lines not its own.
        int other = Enumerable.Range(0, 16).First(l => l != o.OwnIrq && l != o.VictimIrq && l != o.PciIrq);
        Attack($"IRQCTL set policy on IRQ {o.VictimIrq} (the other card's line)", () => SysCall.IrqCtl(IrqCtlRequest.SetPolicy, o.VictimIrq, 1), Err.EPERM, Denial.DeviceIrqNotAllowed);
        Attack($"IRQCTL set policy on IRQ {other}", () => SysCall.IrqCtl(IrqCtlRequest.SetPolicy, other, 2), Err.EPERM, Denial.DeviceIrqNotAllowed);

        GrantAttacks(self, stale);

        int victim = o.Peers[0];
        DmaAttacks(o);
        TrustedDriverAttacks(o, self, victim);

        // Kernel calls outside its policy, and numbers that are no kernel call.
        Attack("SPAWN (start a process of its own)", () => KernelCallRaw(KernelCall.Spawn), Err.ECALLDENIED, Denial.KernelCallNotAllowed);
        Attack($"KILL {victim} with SIGKILL", () => SysCall.Kill(victim, 9), Err.ECALLDENIED, Denial.KernelCallNotAllowed);
        Attack("PRIVCTL (raise its own privileges)", () => SysCall.PrivCtl(self, new PrivilegeBlock { TrapMask = Trap.MaskAll, Flags = PrivilegeBlock.AllTargets }), Err.ECALLDENIED, Denial.KernelCallNotAllowed);
        Attack("SETALARM", () => SysCall.SetAlarm(1_000_000, false, out _), Err.ECALLDENIED, Denial.KernelCallNotAllowed);
        Attack("GETKSIG (read another process's exits)", () => SysCall.GetKsig(out _), Err.ECALLDENIED, Denial.KernelCallNotAllowed);
        Attack($"SYSCTL ReportDenial blaming {victim} (only trusted drivers may)", () => SysCall.ReportDenial(Denial.UnauthorizedDestination, victim), Err.EPERM, Denial.RequestRejected);
        Attack("kernel call -1", () => KernelCallRaw(-1), Err.EBADREQUEST, Denial.InvalidKernelCall);
        Attack($"kernel call {KernelCall.Count - 1}", () => KernelCallRaw(KernelCall.Count - 1), Err.EBADREQUEST, Denial.InvalidKernelCall);
        Attack("kernel call 5000", () => KernelCallRaw(5000), Err.EBADREQUEST, Denial.InvalidKernelCall);

        // IPC outside its send mask, to no one, and with primitives it may not use.
        Attack($"SEND to {victim}", () => Ipc(Trap.Send, victim), Err.ECALLDENIED, Denial.UnauthorizedDestination);
        foreach (int peer in o.Peers)
        {
            Attack($"SENDNB to {peer}", () => Ipc(Trap.SendNb, peer), Err.ECALLDENIED, Denial.UnauthorizedDestination);
            Attack($"NOTIFY {peer}", () => IpcCall.Notify(peer), Err.ECALLDENIED, Denial.UnauthorizedDestination);
        }
        Attack("SEND to ANY", () => Ipc(Trap.Send, Endpoint.Any), Err.EINVAL, Denial.InvalidDestination);
        Attack($"SENDNB to {stale} (a stale endpoint)", () => Ipc(Trap.SendNb, stale), Err.EDEADSRCDST, Denial.InvalidDestination);
        Attack("primitive 99", () => Ipc(99, Endpoint.Rs), Err.EBADCALL, Denial.InvalidPrimitive);
        Attack("SENDA (not in its trap mask)", () => IpcCall.SendA(SysCall.HeapStart, 0), Err.ETRAPDENIED, Denial.InvalidPrimitive);
        Attack("SEND to CLOCK (a kernel task)", () => Ipc(Trap.Send, Endpoint.Clock), Err.ETRAPDENIED, Denial.InvalidPrimitive);

        HostAttacks();

        var counts = string.Join(' ', Enumerable.Range(0, DenialText.Count).Where(i => s_denied[i] > 0)
            .Select(i => string.Create(CultureInfo.InvariantCulture, $"{(Denial)i}={s_denied[i]}")));
        SysCall.Diag(string.Create(CultureInfo.InvariantCulture, $"summary {s_attempts} attacks, {s_denied.Sum()} denied: {counts}"));
        if (s_failures > 0) ServiceRuntime.Panic($"{s_failures} attacks or controls went wrong (see the 'NOT DENIED' lines)");

        ServiceRuntime.InitDone();
        var loop = new ServerLoop { NonBlockingReplies = true };
        return loop.Run() == Err.Ok ? 0 : 1;
    }

    /// <summary>Grants it was not given, or with more rights than it was given. Nobody in a
    /// booted system grants this driver anything, so the grants it misuses are its own, made
    /// out to someone else or with fewer rights, and ids of another process's table.</summary>
    private static void GrantAttacks(int self, int stale)
    {
        const int Len = 64;
        long buf = ArenaHeap.Allocate(4096);
        if (buf < 0)
        {
            Fail($"no memory for the grant attacks: {Err.Name((int)buf)}");
            return;
        }
        long local = buf + 2048;
        var table = GrantTable.Current;
        int readOnly = table.Direct(self, buf, Len, Grant.Read);
        int widened = readOnly < 0 ? readOnly : table.Indirect(self, self, readOnly, Grant.ReadWrite);
        int forRs = table.Direct(Endpoint.Rs, buf + 128, Len, Grant.ReadWrite);
        int revoked = table.Direct(self, buf + 256, Len, Grant.ReadWrite);
        if (readOnly < 0 || widened < 0 || forRs < 0 || revoked < 0 || table.Revoke(revoked) != Err.Ok)
        {
            Fail($"cannot make the grants to misuse: {readOnly} {widened} {forRs} {revoked}");
            return;
        }
        Control("SAFECOPYFROM through its read-only grant", () => SysCall.SafeCopyFrom(self, readOnly, 0, local, Len));
        Attack("SAFECOPYTO through a read-only grant", () => SysCall.SafeCopyTo(self, readOnly, 0, local, Len), Err.EPERM, Denial.GrantAccessViolation);
        Attack("SAFECOPYTO through a read-only grant re-delegated as read-write", () => SysCall.SafeCopyTo(self, widened, 0, local, Len), Err.EPERM, Denial.GrantAccessViolation);
        Attack("SAFECOPYFROM a grant made out to RS", () => SysCall.SafeCopyFrom(self, forRs, 0, local, Len), Err.EPERM, Denial.GrantInvalidGrantor);
        Attack("SAFECOPYFROM granter ANY", () => SysCall.SafeCopyFrom(Endpoint.Any, readOnly, 0, local, Len), Err.EINVAL, Denial.GrantInvalidGrantor);
        Attack($"SAFECOPYFROM granter {stale} (a stale endpoint)", () => SysCall.SafeCopyFrom(stale, readOnly, 0, local, Len), Err.EDEADSRCDST, Denial.GrantInvalidGrantor);
        Attack("SAFECOPYFROM 64 bytes at offset 32 of a 64-byte grant", () => SysCall.SafeCopyFrom(self, readOnly, 32, local, Len), Err.EPERM, Denial.GrantRegionExceeds);
        Attack("SAFECOPYFROM a revoked grant", () => SysCall.SafeCopyFrom(self, revoked, 0, local, Len), Err.EPERM, Denial.GrantUnusedOrInvalid);
        Attack("SAFECOPYFROM grant id beyond RS's table", () => SysCall.SafeCopyFrom(Endpoint.Rs, Grant.MakeId(0, Grant.MaxEntries - 1), 0, local, Len), Err.EPERM, Denial.GrantIdOutOfRange);
        Attack("SAFECOPYFROM into memory outside its arena", () => SysCall.SafeCopyFrom(self, readOnly, 0, -4096, Len), Err.EFAULT, Denial.MemoryOutsideArena);
    }

    /// <summary>DMA (thesis §3.3.2): it may pin page-aligned memory of its own arena, but
    /// nothing outside it, and no device may reach that memory unless its driver holds the
    /// device — this one holds none (the PCI-bus driver has no ACL for it).</summary>
    private static void DmaAttacks(Options o)
    {
        long block = ArenaHeap.Allocate(3 * PageSize);
        if (block < 0)
        {
            Fail($"no memory for the DMA attacks: {Err.Name((int)block)}");
            return;
        }
        long page = (block + PageSize - 1) & ~(long)(PageSize - 1);
        long arenaEnd = Channel.Current.ArenaSize & ~(long)(PageSize - 1);
        ulong bus = 0;
        Attack($"MAPDMA the page at 0x{arenaEnd:x} (just past its arena)", () => SysCall.MapDma(arenaEnd, PageSize, out _), Err.EFAULT, Denial.MemoryOutsideArena);
        Control($"MAPDMA at 0x{page + 16:x} (not page aligned)", () => SysCall.MapDma(page + 16, PageSize, out _), Err.EINVAL);
        Control($"MAPDMA the page at 0x{page:x} of its arena", () => SysCall.MapDma(page, PageSize, out bus));
        if (bus == 0) return;
        string dev = PciCall.Bdf(o.PciDevice);
        Attack($"IOMMU Map {dev} onto its pinned page (bus 0x{bus:x}) without holding {dev}", () => IommuClient.Map(o.PciDevice, bus, PageSize), Err.EPERM, Denial.DeviceDmaNotAllowed);
        Attack($"IOMMU Map {dev} onto bus 0x{bus + PageSize:x} (memory it did not pin)", () => IommuClient.Map(o.PciDevice, bus + PageSize, PageSize), Err.EPERM, Denial.DeviceDmaNotAllowed);
    }

    /// <summary>Requests only RS or another trusted driver may make, and a PCI device its policy
    /// does not grant. The Reserve is held by the PCI-bus driver until its deadline (2 s; RS
    /// sends no ACL for this policy) and then refused; afterwards the device's ports and IRQ
    /// line must still be out of reach.</summary>
    private static void TrustedDriverAttacks(Options o, int self, int victim)
    {
        string dev = PciCall.Bdf(o.PciDevice);
        Attack($"IOMMU Reset of {victim}'s DMA domains (only RS may)", () => IommuClient.Reset(victim), Err.EPERM, Denial.RequestRejected);
        PciAclEntry[] ethernet = [new PciAclEntry { Kind = PciAclEntry.KindClass, Class = 0x02, Subclass = 0x00 }];
        Attack("PCI SetAcl granting itself every Ethernet controller (only RS may)", () => PciClient.SetAcl(self, ethernet), Err.EPERM, Denial.RequestRejected);
        Attack($"PCI CheckOwner {dev} (only the IOMMU driver may)", () => PciClient.CheckOwner(o.PciDevice, self), Err.EPERM, Denial.RequestRejected);
        Attack($"PCI Reserve {dev} (not in its policy; held until the deadline)", () => PciClient.Reserve(o.PciDevice, out _), Err.EPERM, Denial.RequestRejected);
        Attack($"DEVIO in 0x{o.PciIo:x} ({dev}'s first port, after the refused Reserve)", () => SysCall.InPort(o.PciIo, 1, out _), Err.EPERM, Denial.DevicePortNotAllowed);
        Attack($"IRQCTL set policy on IRQ {o.PciIrq} ({dev}'s line, after the refused Reserve)", () => SysCall.IrqCtl(IrqCtlRequest.SetPolicy, o.PciIrq, 3), Err.EPERM, Denial.DeviceIrqNotAllowed);
    }

    /// <summary>Ways out of its host confinement (docs/confinement.md): Linux system calls its
    /// seccomp allowlist (JIT profile) refuses — calls not on it, and calls on it with arguments
    /// it does not allow. Each is made once, raw, with harmless arguments; the target of those
    /// aimed at another process is the kernel, its parent. Two controls first: openat is
    /// allowed, but the host's files outside its view do not exist for it (/tmp only where no
    /// program directory it sees lies under /tmp, as when the repository is checked out there).</summary>
    private static void HostAttacks()
    {
        long kernelPid = Sys(Nr.Getppid); // allowed; also binds the P/Invoke before any counting
        if (kernelPid <= 1)
        {
            Fail($"getppid gave {kernelPid}: no kernel process to aim at");
            return;
        }
        nint kernel = (nint)kernelPid;
        nint shadow = Marshal.StringToCoTaskMemUTF8("/etc/shadow");
        nint tmp = Marshal.StringToCoTaskMemUTF8("/tmp");
        nint shell = Marshal.StringToCoTaskMemUTF8("/bin/sh");
        nint name = Marshal.StringToCoTaskMemUTF8("x");
        nint scratch = (nint)NativeMemory.AllocZeroed(64);
        try
        {
            // Its view of the host's files: a file outside it does not exist (openat is allowed).
            HostControl("openat /etc/shadow O_RDONLY (outside its file view)", () => Closing(Sys(Nr.Openat, AtFdCwd, shadow, 0)), ENOENT);
            if (ShownAncestor("/tmp") is { } program)
                SysCall.Diag($"control openat /tmp skipped: its view shows {program}, so /tmp is there");
            else
                HostControl("openat /tmp O_RDONLY (outside its file view)", () => Closing(Sys(Nr.Openat, AtFdCwd, tmp, 0)), ENOENT);

            // Networks and sockets: its network namespace has nothing but a down loopback, and
            // the only socket it may use (the jail's, fd 1001) is gone before it runs.
            HostAttack("socket(AF_INET, SOCK_STREAM, 0)", () => Closing(Sys(Nr.Socket, 2, 1, 0)));
            HostAttack("socket(AF_INET6, SOCK_DGRAM, 0)", () => Closing(Sys(Nr.Socket, 10, 2, 0)));
            HostAttack("socket(AF_UNIX, SOCK_STREAM, 0) (the instance's control socket)", () => Closing(Sys(Nr.Socket, 1, 1, 0)));
            HostAttack("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", () => Closing(Sys(Nr.Socket, 16, 3, 0)));
            HostAttack("socket(AF_PACKET, SOCK_RAW, ETH_P_ALL) (raw frames)", () => Closing(Sys(Nr.Socket, 17, 3, 0x0300)));
            HostAttack("socketpair(AF_UNIX, SOCK_STREAM, 0, NULL)", () => Sys(Nr.Socketpair, 1, 1, 0, 0));
            HostAttack("connect(-1, NULL, 0)", () => Sys(Nr.Connect, -1, 0, 0));
            HostAttack("sendmsg(2, NULL, 0) (not the jail's socket)", () => Sys(Nr.Sendmsg, 2, 0, 0));

            // The kernel process (its parent): signals, tracing, its memory, its limits.
            HostAttack($"kill({kernel}, 0) (the kernel; signal 0)", () => Sys(Nr.Kill, kernel, 0));
            HostAttack($"tgkill({kernel}, {kernel}, 0) (the kernel's main thread; signal 0)", () => Sys(Nr.Tgkill, kernel, kernel, 0));
            HostAttack($"pidfd_open({kernel}, 0)", () => Closing(Sys(Nr.PidfdOpen, kernel, 0)));
            HostAttack($"ptrace(PTRACE_ATTACH, {kernel})", () => Sys(Nr.Ptrace, 16, kernel, 0, 0));
            HostAttack($"process_vm_readv({kernel}, NULL, 0, NULL, 0, 0)", () => Sys(Nr.ProcessVmReadv, kernel, 0, 0, 0, 0, 0));
            HostAttack($"prlimit64({kernel}, RLIMIT_NOFILE, NULL, &old) (another process's limits)", () => Sys(Nr.Prlimit64, kernel, 7, 0, scratch));
            HostAttack($"getpriority(PRIO_PROCESS, {kernel})", () => Sys(Nr.Getpriority, 0, kernel));
            HostAttack($"fcntl(0, F_SETOWN, {kernel}) (SIGIO to the kernel)", () => Sys(Nr.Fcntl, 0, 8, kernel));

            // Processes and programs of its own, and memory the allowlist keeps it from.
            HostAttack("clone(SIGCHLD) (a process of its own)", () => Child(Sys(Nr.Clone, 17, 0, 0, 0, 0)));
            HostAttack("fork()", () => Child(Sys(Nr.Fork)));
            HostAttack("execve(\"/bin/sh\", NULL, NULL)", () => Sys(Nr.Execve, shell, 0, 0));
            HostAttack("execveat(AT_FDCWD, \"/bin/sh\", NULL, NULL, 0) (not the jail's executable)", () => Sys(Nr.Execveat, AtFdCwd, shell, 0, 0, 0));
            HostAttack("memfd_create(\"x\", 0)", () => Closing(Sys(Nr.MemfdCreate, name, 0)));
            HostAttack("mmap(4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS) (memory RLIMIT_DATA does not count)",
                () => Unmapping(Sys(Nr.Mmap, 0, PageSize, 0x3, 0x21, -1, 0)));
            HostAttack("mmap(4096, PROT_READ|PROT_EXEC, MAP_SHARED, -1) (shared executable memory)",
                () => Unmapping(Sys(Nr.Mmap, 0, PageSize, 0x5, 0x01, -1, 0)));

            // Namespaces and the file system.
            HostAttack("unshare(CLONE_NEWUSER)", () => Sys(Nr.Unshare, 0x10000000));
            HostAttack("setns(-1, 0)", () => Sys(Nr.Setns, -1, 0));
            HostAttack("mount(NULL, NULL, NULL, 0, NULL)", () => Sys(Nr.Mount, 0, 0, 0, 0, 0));
            HostAttack("umount2(NULL, 0)", () => Sys(Nr.Umount2, 0, 0));
            HostAttack("pivot_root(NULL, NULL)", () => Sys(Nr.PivotRoot, 0, 0));
            HostAttack("chroot(NULL)", () => Sys(Nr.Chroot, 0));
            HostAttack("fsopen(NULL, 0) (the new mount API)", () => Closing(Sys(Nr.Fsopen, 0, 0)));
            HostAttack("open_by_handle_at(AT_FDCWD, NULL, 0) (files by handle, past its view)", () => Closing(Sys(Nr.OpenByHandleAt, AtFdCwd, 0, 0)));
            HostAttack("mknodat(AT_FDCWD, NULL, S_IFCHR|0600, 1:1) (a device node)", () => Sys(Nr.Mknodat, AtFdCwd, 0, 0x2180, 0x0101));

            // Privilege.
            HostAttack("setuid(0)", () => Sys(Nr.Setuid, 0));
            HostAttack("setgid(0)", () => Sys(Nr.Setgid, 0));
            HostAttack("setresuid(0, 0, 0)", () => Sys(Nr.Setresuid, 0, 0, 0));
            HostAttack("capset(NULL, NULL)", () => Sys(Nr.Capset, 0, 0));
            HostAttack("prctl(PR_SET_DUMPABLE, 1)", () => Sys(Nr.Prctl, 4, 1, 0, 0, 0));
            HostAttack("seccomp(SECCOMP_SET_MODE_FILTER, 0, NULL) (a filter of its own)", () => Sys(Nr.Seccomp, 1, 0, 0));

            // Hardware and the host kernel's interfaces.
            HostAttack("iopl(3)", () => Sys(Nr.Iopl, 3));
            HostAttack("ioperm(0x80, 1, 1)", () => Sys(Nr.Ioperm, 0x80, 1, 1));
            HostAttack("ioctl(1, TIOCSTI, NULL) (type into the console)", () => Sys(Nr.Ioctl, 1, 0x5412, 0));
            HostAttack("io_uring_setup(1, NULL)", () => Closing(Sys(Nr.IoUringSetup, 1, 0)));
            HostAttack("perf_event_open(NULL, 0, -1, -1, 0)", () => Closing(Sys(Nr.PerfEventOpen, 0, 0, -1, -1, 0)));
            HostAttack("bpf(BPF_MAP_CREATE, NULL, 0)", () => Closing(Sys(Nr.Bpf, 0, 0, 0)));
            HostAttack("keyctl(KEYCTL_GET_KEYRING_ID, 0, 0)", () => Sys(Nr.Keyctl, 0, 0, 0, 0, 0));
            HostAttack("add_key(NULL, NULL, NULL, 0, 0)", () => Sys(Nr.AddKey, 0, 0, 0, 0, 0));
            HostAttack("userfaultfd(0)", () => Closing(Sys(Nr.Userfaultfd, 0)));
            HostAttack("kexec_load(0, 0, NULL, 0)", () => Sys(Nr.KexecLoad, 0, 0, 0, 0));
            HostAttack("init_module(NULL, 0, NULL)", () => Sys(Nr.InitModule, 0, 0, 0));
            HostAttack("reboot(0, 0, 0, NULL) (wrong magic)", () => Sys(Nr.Reboot, 0, 0, 0, 0));
            HostAttack("swapon(NULL, 0)", () => Sys(Nr.Swapon, 0, 0));
            HostAttack("acct(NULL)", () => Sys(Nr.Acct, 0));
            HostAttack("settimeofday(NULL, NULL)", () => Sys(Nr.Settimeofday, 0, 0));
            HostAttack("sethostname(NULL, -1)", () => Sys(Nr.Sethostname, 0, -1));

            // Another ABI, and a number that is no system call.
            HostAttack("getpid through the x32 ABI", () => Sys(Nr.X32 | Nr.Getpid));
            HostAttack("system call 1000", () => Sys(1000));
        }
        finally
        {
            Marshal.FreeCoTaskMem(shadow);
            Marshal.FreeCoTaskMem(tmp);
            Marshal.FreeCoTaskMem(shell);
            Marshal.FreeCoTaskMem(name);
            NativeMemory.Free((void*)scratch);
        }
    }

    /// <summary>This process's slot with a later generation: an endpoint no live process can have
    /// while this one holds the slot.</summary>
    private static int StaleEndpoint(int self) => self + Endpoint.GenerationSize;

    private static int KernelCallRaw(int call)
    {
        var m = default(Message);
        return SysCall.Call(call, ref m);
    }

    private static int Ipc(int trap, int dst)
    {
        var m = new Message(1);
        return Channel.Current.Trap(trap, dst, ref m);
    }

    private static int PortVector(int direction, params (int Port, uint Value)[] entries)
    {
        long buf = ArenaHeap.Allocate(entries.Length * sizeof(PortValue));
        if (buf < 0) return (int)buf;
        for (int i = 0; i < entries.Length; i++)
            Channel.Current.At<PortValue>(buf + i * sizeof(PortValue)) = new PortValue { Port = entries[i].Port, Value = entries[i].Value };
        int r = SysCall.VDevIo(buf, entries.Length, 1, direction);
        ArenaHeap.Free(buf);
        return r;
    }

    /// <summary>One attack: it must fail with <paramref name="expected"/> and be counted once,
    /// against this process, in <paramref name="category"/> and in no other category.</summary>
    private static void Attack(string what, Func<int> attempt, int expected, Denial category) =>
        Denied(what, category, Err.Name(expected), () =>
        {
            int r = attempt();
            return (r == expected, Err.Name(r));
        });

    /// <summary>One host attack: a Linux system call the seccomp allowlist refuses. It must
    /// return -1 with errno EPERM and be counted once, against this process, as 'host system
    /// call not allowed' and in no other category.</summary>
    private static void HostAttack(string what, Func<long> call) =>
        Denied(what, Denial.HostCallNotAllowed, ErrnoName(EPERM), () => HostResult(call(), EPERM));

    /// <summary>Runs <paramref name="attempt"/> (which says whether it got the expected answer,
    /// and what it got) between two readings of the denial counters: this process's own count
    /// must grow by exactly one, and of the kernel's counters exactly <paramref name="category"/>,
    /// by exactly one.</summary>
    private static void Denied(string what, Denial category, string expected, Func<(bool Ok, string Got)> attempt)
    {
        s_attempts++;
        if (!TryCounters(out long ownBefore, out long[] before))
        {
            Fail($"{what}: cannot read the denial counters");
            return;
        }
        var (ok, got) = attempt();
        if (!TryCounters(out long ownAfter, out long[] after))
        {
            Fail($"{what}: cannot read the denial counters");
            return;
        }
        long grew = after[(int)category] - before[(int)category];
        long others = after.Sum() - before.Sum() - grew;
        if (ok && ownAfter - ownBefore == 1 && grew == 1 && others == 0)
        {
            s_denied[(int)category]++;
            SysCall.Diag($"denied {what}: {got} ({DenialText.Describe(category)})");
            return;
        }
        Fail(string.Create(CultureInfo.InvariantCulture,
            $"{what}: got {got}, own denials +{ownAfter - ownBefore}, '{DenialText.Describe(category)}' +{grew}, other categories +{others}; expected {expected}, +1, +1, +0"));
    }

    /// <summary>Something the policy implies: it must be answered <paramref name="expected"/>
    /// (OK for what it allows, the error of a malformed request) and count no denial, neither
    /// against this process nor in any category.</summary>
    private static void Control(string what, Func<int> call, int expected = Err.Ok) =>
        Uncounted(what, Err.Name(expected), () =>
        {
            int r = call();
            return (r == expected, Err.Name(r));
        });

    /// <summary>A host call the allowlist allows, answered by the jail rather than the filter:
    /// it must return -1 with errno <paramref name="expectedErrno"/> and count no denial.</summary>
    private static void HostControl(string what, Func<long> call, int expectedErrno) =>
        Uncounted(what, ErrnoName(expectedErrno), () => HostResult(call(), expectedErrno));

    /// <summary>Runs <paramref name="call"/> between two readings of the denial counters, none
    /// of which may grow.</summary>
    private static void Uncounted(string what, string expected, Func<(bool Ok, string Got)> call)
    {
        if (!TryCounters(out long ownBefore, out long[] before))
        {
            Fail($"{what}: cannot read the denial counters");
            return;
        }
        var (ok, got) = call();
        if (!TryCounters(out long ownAfter, out long[] after) || !ok || ownAfter != ownBefore || after.Sum() != before.Sum())
            Fail($"control {what}: got {got} and {ownAfter - ownBefore} denials; expected {expected} and none (is the policy applied?)");
        else
            SysCall.Diag($"control {what}: {got}, no denial");
    }

    /// <summary>Its own program directory or the runtime's when it lies under
    /// <paramref name="dir"/>: the view shows it, and with it every directory above it.</summary>
    private static string? ShownAncestor(string dir) =>
        new[] { AppContext.BaseDirectory, RuntimeEnvironment.GetRuntimeDirectory() }
            .FirstOrDefault(p => p.StartsWith(dir + "/", StringComparison.Ordinal));

    /// <summary>A host call's result: whether it returned -1 with errno <paramref name="errno"/>
    /// (read right after the call, before any other P/Invoke), and what it got.</summary>
    private static (bool Ok, string Got) HostResult(long r, int errno)
    {
        int got = Marshal.GetLastPInvokeError();
        return r == -1 ? (got == errno, ErrnoName(got)) : (false, string.Create(CultureInfo.InvariantCulture, $"success ({r})"));
    }

    private static string ErrnoName(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        9 => "EBADF",
        13 => "EACCES",
        14 => "EFAULT",
        22 => "EINVAL",
        38 => "ENOSYS",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        _ => string.Create(CultureInfo.InvariantCulture, $"errno {errno}"),
    };

    /// <summary>A raw Linux system call (libc's syscall is variadic: every argument is passed
    /// as a full register). Gives the result, -1 with the errno kept for GetLastPInvokeError.</summary>
    private static long Sys(nint nr, nint a1 = 0, nint a2 = 0, nint a3 = 0, nint a4 = 0, nint a5 = 0, nint a6 = 0) =>
        syscall(nr, a1, a2, a3, a4, a5, a6);

    [DllImport("libc", SetLastError = true)]
    private static extern nint syscall(nint n, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    /// <summary>Closes a descriptor a call that should have been refused gave anyway.</summary>
    private static long Closing(long fd)
    {
        if (fd >= 0) syscall(Nr.Close, (nint)fd, 0, 0, 0, 0, 0);
        return fd;
    }

    /// <summary>Unmaps a page a call that should have been refused mapped anyway.</summary>
    private static long Unmapping(long address)
    {
        if (address != -1) syscall(Nr.Munmap, (nint)address, PageSize, 0, 0, 0, 0);
        return address;
    }

    /// <summary>In a child a call that should have been refused created anyway: leave at once.</summary>
    private static long Child(long pid)
    {
        if (pid == 0) syscall(Nr.ExitGroup, 0, 0, 0, 0, 0, 0);
        return pid;
    }

    private const int EPERM = 1, ENOENT = 2;
    private const int AtFdCwd = -100;

    /// <summary>x86-64 Linux system call numbers (asm/unistd_64.h).</summary>
    private static class Nr
    {
        public const int Close = 3, Mmap = 9, Munmap = 11, Ioctl = 16, Getpid = 39, Socket = 41, Connect = 42, Sendmsg = 46,
            Socketpair = 53, Clone = 56, Fork = 57, Execve = 59, Kill = 62, Fcntl = 72, Ptrace = 101, Setuid = 105,
            Setgid = 106, Getppid = 110, Setresuid = 117, Capset = 126, Getpriority = 140, PivotRoot = 155, Prctl = 157,
            Chroot = 161, Acct = 163, Settimeofday = 164, Mount = 165, Umount2 = 166, Swapon = 167, Reboot = 169,
            Sethostname = 170, Iopl = 172, Ioperm = 173, InitModule = 175, Tgkill = 234, ExitGroup = 231, KexecLoad = 246,
            AddKey = 248, Keyctl = 250, Openat = 257, Mknodat = 259, Unshare = 272, PerfEventOpen = 298, Prlimit64 = 302,
            OpenByHandleAt = 304, Setns = 308, ProcessVmReadv = 310, Seccomp = 317, MemfdCreate = 319, Bpf = 321,
            Execveat = 322, Userfaultfd = 323, IoUringSetup = 425, Fsopen = 430, PidfdOpen = 434;
        /// <summary>The x32 ABI's bit in the number.</summary>
        public const int X32 = 0x40000000;
    }

    private static void Fail(string why)
    {
        s_failures++;
        SysCall.Diag("NOT DENIED " + why);
    }

    /// <summary>This process's own denial count and the kernel's counters per category.</summary>
    private static bool TryCounters(out long own, out long[] categories)
    {
        own = -1;
        categories = [];
        if (SysCall.GetInfo(GetInfoRequest.Denials, out byte[] d, out _) != Err.Ok) return false;
        categories = MemoryMarshal.Cast<byte, long>(d).ToArray();
        if (categories.Length < DenialText.Count) return false;
        if (SysCall.GetInfo(GetInfoRequest.ProcTab, out byte[] t, out _) != Err.Ok) return false;
        foreach (var p in MemoryMarshal.Cast<byte, ProcInfo>(t))
            if (p.Endpoint == IpcCall.Self) own = p.Denials;
        return own >= 0;
    }

    private sealed record Options(int OwnIo, int OwnIrq, int VictimIo, int VictimIrq, int PciDevice, int PciIo, int PciIrq, int[] Peers);

    private static bool TryParse(string[] args, out Options options, out string error)
    {
        options = new Options(0, 0, 0, 0, 0, 0, 0, []);
        var kv = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string a in args)
        {
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"bad argument '{a}' (want key=value)";
                return false;
            }
            kv[a[..eq]] = a[(eq + 1)..];
        }
        error = "usage: hostile-driver own-io=0x340 own-irq=5 victim-io=0x300 victim-irq=9 pci-dev=0x18 pci-io=0xc000 pci-irq=11 peers=EP,EP,...";
        if (!kv.TryGetValue("own-io", out string? ownIo) || !TryHex(ownIo, out int oio)
            || !kv.TryGetValue("victim-io", out string? victimIo) || !TryHex(victimIo, out int vio)
            || !kv.TryGetValue("own-irq", out string? ownIrq) || !int.TryParse(ownIrq, CultureInfo.InvariantCulture, out int oirq)
            || !kv.TryGetValue("victim-irq", out string? victimIrq) || !int.TryParse(victimIrq, CultureInfo.InvariantCulture, out int virq)
            || !kv.TryGetValue("pci-dev", out string? pciDev) || !TryHex(pciDev, out int pdev)
            || !kv.TryGetValue("pci-io", out string? pciIo) || !TryHex(pciIo, out int pio)
            || !kv.TryGetValue("pci-irq", out string? pciIrq) || !int.TryParse(pciIrq, CultureInfo.InvariantCulture, out int pirq)
            || !kv.TryGetValue("peers", out string? peerList))
            return false;
        var peers = new List<int>();
        foreach (string p in peerList.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(p, CultureInfo.InvariantCulture, out int ep)) return false;
            peers.Add(ep);
        }
        if (peers.Count == 0 || oirq is < 0 or > 15 || virq is < 0 or > 15 || pirq is < 0 or > 15 || pdev is < 0 or > 0xFFFF
            || oirq == virq || oirq == pirq)
            return false;
        options = new Options(oio, oirq, vio, virq, pdev, pio, pirq, [.. peers]);
        error = "";
        return true;
    }

    private static bool TryHex(string s, out int value) =>
        int.TryParse(s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
}
