// The devices claimed by running drivers, so RS can refuse a driver whose device is already
// in use (thesis §2.3.1: "if the new driver's device is already in use, the launch process is
// aborted"). Two policies conflict when their `isa io` ranges overlap or they share a
// `pci device` id — unless both also list `isa io` ranges and those are disjoint: then the
// id names a kind of device of which each drives a different one, told apart by the legacy
// ports (at_wini and at_wini1: one PIIX3 IDE function per channel; which function each may
// take is the PCI-bus driver's reservation). IRQ lines may be shared (ISA drivers chained on
// one line, as MINIX allows), and `pci class` grants no single device, so neither conflicts.
// Claims are kept per service (label): a service never conflicts with itself (a restart keeps
// its claim), and two services under the same policy entry conflict like any two. Messages
// name the running service that holds the device. Not thread-safe; RS owns one instance.
namespace Bulkhead.Servers.Rs.Policy;

public sealed class DeviceClaims
{
    private readonly Dictionary<string, Policy> _running = new(StringComparer.Ordinal);

    /// <summary>The policies of the services holding claims.</summary>
    public IReadOnlyCollection<Policy> Running => _running.Values;

    /// <summary>Why service <paramref name="service"/> under <paramref name="candidate"/> may not
    /// start, naming the running service whose device it wants; null when nothing it asks for
    /// is claimed.</summary>
    public string? FindConflict(string service, Policy candidate)
    {
        foreach (var (label, running) in _running)
            if (label != service && Conflicts(candidate, running, out string reason))
                return $"{reason} (running service '{label}')";
        return null;
    }

    /// <summary>Records the devices of service <paramref name="service"/> unless another running
    /// service claims one of them; then returns false with the reason.</summary>
    public bool TryClaim(string service, Policy policy, out string reason)
    {
        reason = FindConflict(service, policy) ?? "";
        if (reason.Length > 0) return false;
        _running[service] = policy;
        return true;
    }

    /// <summary>Drops the claims of service <paramref name="service"/> (it stopped for good).</summary>
    public bool Release(string service) => _running.Remove(service);

    /// <summary>True when <paramref name="a"/> wants a device <paramref name="b"/> holds;
    /// <paramref name="reason"/> names the resource of each and policy <paramref name="b"/>.</summary>
    public static bool Conflicts(Policy a, Policy b, out string reason)
    {
        reason = "";
        foreach (var r in a.IsaIo)
            foreach (var o in b.IsaIo)
                if (r.Overlaps(o))
                {
                    reason = $"policy '{a.Label}': isa io {r} overlaps isa io {o} of policy '{b.Label}'";
                    return true;
                }
        if (a.IsaIo.Count > 0 && b.IsaIo.Count > 0) return false; // disjoint legacy ports: different devices of one kind
        foreach (var d in a.PciDevices)
            if (b.PciDevices.Contains(d))
            {
                reason = $"policy '{a.Label}': pci device {d} is also in policy '{b.Label}'";
                return true;
            }
        return false;
    }
}
