// Names with a fixed meaning in `ipc targets`: ALL (send to everyone), USERS (user programs may
// call it: a network or file server), the kernel tasks
// KERNEL, HARDWARE, SYSTEM and CLOCK (accepted and left out of the send mask: kernel calls
// are governed by `ipc kernel`, as in boot.conf), and MINIX's fixed boot servers PM, VFS, RS,
// MEM, SCHED, TTY, DS, VM, MFS, INIT, and Bulkhead's PCI and IOMMU, with their fixed endpoints. Names are upper case as in
// the thesis (Fig. 3.7); ALL and the kernel tasks are also accepted in any case. Every other
// target is the label of a service, resolved by RS when the driver starts.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Rs.Policy;

public static class PolicyTargets
{
    public const string All = "ALL";
    /// <summary>User programs may call this service (PrivilegeBlock.ServesUsers).</summary>
    public const string Users = "USERS";

    private static readonly HashSet<string> KernelTasks = new(StringComparer.OrdinalIgnoreCase) { "KERNEL", "HARDWARE", "SYSTEM", "CLOCK" };

    private static readonly Dictionary<string, int> FixedServers = new(StringComparer.Ordinal)
    {
        ["PM"] = Endpoint.Pm,
        ["VFS"] = Endpoint.Vfs,
        ["RS"] = Endpoint.Rs,
        ["MEM"] = Endpoint.Mem,
        ["SCHED"] = Endpoint.Sched,
        ["TTY"] = Endpoint.Tty,
        ["DS"] = Endpoint.Ds,
        ["VM"] = Endpoint.Vm,
        ["MFS"] = Endpoint.Mfs,
        ["INIT"] = Endpoint.Init,
        ["PCI"] = Endpoint.Pci,
        ["IOMMU"] = Endpoint.Iommu,
    };

    public static bool IsAll(string name) => string.Equals(name, All, StringComparison.OrdinalIgnoreCase);

    public static bool IsUsers(string name) => string.Equals(name, Users, StringComparison.OrdinalIgnoreCase);

    /// <summary>KERNEL, HARDWARE, SYSTEM or CLOCK: reached by kernel calls, never in the send mask.</summary>
    public static bool IsKernelTask(string name) => KernelTasks.Contains(name);

    /// <summary>The fixed endpoint of a MINIX boot server name (PM, VFS, RS, ...), or null.
    /// RS may use it as the fallback of its label lookup.</summary>
    public static int? FixedEndpoint(string name) => FixedServers.TryGetValue(name, out int e) ? e : null;

    /// <summary>Names a driver may not take as its label.</summary>
    public static bool IsReserved(string name) => IsAll(name) || IsUsers(name) || IsKernelTask(name) || FixedServers.ContainsKey(name);
}
