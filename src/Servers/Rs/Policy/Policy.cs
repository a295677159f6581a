// One driver's isolation policy (thesis §2.3.1, Fig. 2.6), as read from drivers.conf. Every
// field defaults to "nothing": a Policy with only a Label grants no trap, no target, no
// kernel call, no device. ToPrivilegeBlock turns the IPC part and the ISA ports and IRQs into
// the block RS hands to the kernel (SPAWN/PRIVCTL); device conflicts are checked by
// DeviceClaims; PCI devices go to the PCI-bus driver; Drivers is enforced by RS itself.
using Bulkhead.Lib.Sys;

namespace Bulkhead.Servers.Rs.Policy;

public sealed record Policy
{
    public const int MaxIsaIo = 64;
    public const int MaxIsaIrqs = 16;
    public const int MaxIrq = 15;

    /// <summary>The driver's label (`driver LABEL { ... };`).</summary>
    public required string Label { get; init; }
    /// <summary>Where the policy was read, for messages ("" for one built in code).</summary>
    public string File { get; init; } = "";
    public int Line { get; init; }

    /// <summary>`ipc calls`: one bit per allowed IPC primitive (Trap.Bit).</summary>
    public uint TrapMask { get; init; }
    /// <summary>`ipc targets ALL`.</summary>
    public bool AllTargets { get; init; }
    /// <summary>`ipc targets USERS`: user programs may call this service.</summary>
    public bool ServesUsers { get; init; }
    /// <summary>`ipc targets`: the names as written, without ALL and without duplicates.</summary>
    public IReadOnlyList<string> Targets { get; init; } = [];
    /// <summary>`ipc kernel`: allowed kernel-call numbers, ascending (SAFECOPY already expanded).</summary>
    public IReadOnlyList<int> KernelCalls { get; init; } = [];
    /// <summary>`driver`: labels of the drivers this one may control (complain about, restart).</summary>
    public IReadOnlyList<string> Drivers { get; init; } = [];
    /// <summary>`isa io`: I/O port ranges, at most MaxIsaIo, pairwise disjoint.</summary>
    public IReadOnlyList<AddressRange> IsaIo { get; init; } = [];
    /// <summary>`isa irq`: IRQ lines 0..15, at most MaxIsaIrqs, distinct.</summary>
    public IReadOnlyList<int> IsaIrqs { get; init; } = [];
    /// <summary>`pci device`: PCI vendor/device ids, distinct.</summary>
    public IReadOnlyList<PciDevice> PciDevices { get; init; } = [];
    /// <summary>`pci class`: PCI classes, distinct.</summary>
    public IReadOnlyList<PciClass> PciClasses { get; init; } = [];

    /// <summary>Where the policy was read, as "file:line".</summary>
    public string Origin => $"{File}:{Line}";

    public bool MayControl(string label) => Drivers.Contains(label, StringComparer.Ordinal);

    public bool HasDevices => IsaIo.Count + IsaIrqs.Count + PciDevices.Count + PciClasses.Count > 0;

    /// <summary>The kernel's view of this policy: trap mask, kernel-call mask, targets and
    /// <paramref name="flags"/> (RS adds SysProc/Mutable as it sees fit; ALL adds AllTargets).
    /// Kernel tasks are left out of the targets; every other target goes through
    /// <paramref name="endpointOf"/>, and names it does not know (null: not running) are
    /// skipped and listed in <paramref name="unresolved"/>.</summary>
    public PrivilegeBlock ToPrivilegeBlock(Func<string, int?> endpointOf, uint flags, out IReadOnlyList<string> unresolved)
    {
        var block = new PrivilegeBlock { TrapMask = TrapMask, Flags = flags | (AllTargets ? PrivilegeBlock.AllTargets : 0) | (ServesUsers ? PrivilegeBlock.ServesUsers : 0) };
        foreach (int call in KernelCalls) block.AllowCall(call);
        foreach (var io in IsaIo)
            if (!block.AddIoRange((int)io.Base, (int)io.Length))
                throw new PolicyException(File, Line, $"isa io {io} of driver '{Label}' does not fit the kernel's port table (at most {PrivilegeBlock.MaxIoRanges} ranges below 0x10000)");
        foreach (int irq in IsaIrqs) block.AllowIrq(irq);
        var missing = new List<string>();
        foreach (string target in Targets)
        {
            if (PolicyTargets.IsKernelTask(target)) continue;
            if (endpointOf(target) is not { } endpoint)
            {
                missing.Add(target);
                continue;
            }
            if (!block.AddTarget(endpoint)) throw new PolicyException(File, Line, $"too many ipc targets in driver '{Label}' (at most {PrivilegeBlock.MaxTargets})");
        }
        unresolved = missing;
        return block;
    }

    /// <summary>ToPrivilegeBlock without extra flags, ignoring unresolved targets.</summary>
    public PrivilegeBlock ToPrivilegeBlock(Func<string, int?> endpointOf) => ToPrivilegeBlock(endpointOf, 0, out _);
}
