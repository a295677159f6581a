// hostile-driver: a driver that RS starts like any other (`service up bulkhead-testproc -args
// "hostile-driver …" -label hostile -policy hostile`) and that then tries, on its own, every
// unauthorized access of thesis Fig. 3.1 that a booted Bulkhead can see: the I/O ports and the
// IRQ line of another device, IRQ lines that belong to nobody it knows, grants it was not
// given or with more rights than it was given, DMA pinning outside its arena, DMA for a PCI
// device it does not hold, requests only RS or a trusted driver may make of the PCI-bus driver,
// the IOMMU driver and the kernel, kernel calls outside its policy and numbers that are no
// kernel call, IPC to processes outside its send mask or to no process at all, and IPC
// primitives that do not exist or that it may not use. Each attempt is made exactly once.
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
// driver no ACL for it); everything else it tries must be refused.
//
// Rules. An attempt passes when it is answered the expected MINIX error, this process's own
// denial count (GETINFO process table) grows by exactly one, and of the kernel's Fig. 5.5
// counters exactly the expected one grows, by exactly one. That holds for refusals by the
// trusted PCI-bus and IOMMU drivers as well: they count a denial against its offender with
// SYSCTL ReportDenial before they answer. A few control calls must get the answer the policy
// implies (OK, or for a malformed request its error) with no denial counted anywhere (else the
// policy was not applied and the attacks prove nothing). The PCI-bus driver holds a request of
// an endpoint without an ACL until a 2 s deadline before it refuses it: the one such attack
// (Reserve) costs 2 s of RS's 10 s initialization deadline, and no other attack waits.
// Every attempt goes to the system log (SYSCTL, which prefixes the process name, i.e. the
// label) as one line ("LABEL: denied …" or "LABEL: NOT DENIED …"), then one summary line:
//   LABEL: summary N attacks, N denied: DevicePortNotAllowed=7 DeviceIrqNotAllowed=2 …
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
    private static void Attack(string what, Func<int> attempt, int expected, Denial category)
    {
        s_attempts++;
        if (!TryCounters(out long ownBefore, out long[] before))
        {
            Fail($"{what}: cannot read the denial counters");
            return;
        }
        int r = attempt();
        if (!TryCounters(out long ownAfter, out long[] after))
        {
            Fail($"{what}: cannot read the denial counters");
            return;
        }
        long grew = after[(int)category] - before[(int)category];
        long others = after.Sum() - before.Sum() - grew;
        if (r == expected && ownAfter - ownBefore == 1 && grew == 1 && others == 0)
        {
            s_denied[(int)category]++;
            SysCall.Diag($"denied {what}: {Err.Name(r)} ({DenialText.Describe(category)})");
            return;
        }
        Fail(string.Create(CultureInfo.InvariantCulture,
            $"{what}: got {Err.Name(r)}, own denials +{ownAfter - ownBefore}, '{DenialText.Describe(category)}' +{grew}, other categories +{others}; expected {Err.Name(expected)}, +1, +1, +0"));
    }

    /// <summary>Something the policy implies: it must be answered <paramref name="expected"/>
    /// (OK for what it allows, the error of a malformed request) and count no denial, neither
    /// against this process nor in any category.</summary>
    private static void Control(string what, Func<int> call, int expected = Err.Ok)
    {
        if (!TryCounters(out long ownBefore, out long[] before))
        {
            Fail($"{what}: cannot read the denial counters");
            return;
        }
        int r = call();
        if (!TryCounters(out long ownAfter, out long[] after) || r != expected || ownAfter != ownBefore || after.Sum() != before.Sum())
            Fail($"control {what}: got {Err.Name(r)} and {ownAfter - ownBefore} denials; expected {Err.Name(expected)} and none (is the policy applied?)");
        else
            SysCall.Diag($"control {what}: {Err.Name(r)}, no denial");
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
