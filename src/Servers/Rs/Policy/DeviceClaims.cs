// The devices claimed by running drivers, so RS can refuse a driver whose device is already
// in use (thesis §2.3.1: "if the new driver's device is already in use, the launch process is
// aborted"). Two policies conflict when their `isa io` ranges overlap or they share a
// `pci device` id. IRQ lines may be shared (ISA drivers chained on one line, as MINIX
// allows), and `pci class` grants no single device, so neither conflicts.
// A driver never conflicts with itself: a restart reuses its label's claim. Not thread-safe;
// RS owns one instance.
namespace Bulkhead.Servers.Rs.Policy;

public sealed class DeviceClaims
{
    private readonly Dictionary<string, Policy> _running = new(StringComparer.Ordinal);

    /// <summary>The policies of the drivers holding claims.</summary>
    public IReadOnlyCollection<Policy> Running => _running.Values;

    /// <summary>Why <paramref name="candidate"/> may not start, naming the running driver whose
    /// device it wants; null when nothing it asks for is claimed.</summary>
    public string? FindConflict(Policy candidate)
    {
        foreach (var running in _running.Values)
            if (running.Label != candidate.Label && Conflicts(candidate, running, out string reason))
                return reason;
        return null;
    }

    /// <summary>Records <paramref name="policy"/>'s devices unless another running driver
    /// claims one of them; then returns false with the reason.</summary>
    public bool TryClaim(Policy policy, out string reason)
    {
        reason = FindConflict(policy) ?? "";
        if (reason.Length > 0) return false;
        _running[policy.Label] = policy;
        return true;
    }

    /// <summary>Drops the claims of the driver <paramref name="label"/> (it stopped for good).</summary>
    public bool Release(string label) => _running.Remove(label);

    /// <summary>True when <paramref name="a"/> wants a device <paramref name="b"/> holds;
    /// <paramref name="reason"/> names the resource of each and driver <paramref name="b"/>.</summary>
    public static bool Conflicts(Policy a, Policy b, out string reason)
    {
        reason = "";
        foreach (var r in a.IsaIo)
            foreach (var o in b.IsaIo)
                if (r.Overlaps(o))
                {
                    reason = $"driver '{a.Label}': isa io {r} overlaps isa io {o} claimed by running driver '{b.Label}'";
                    return true;
                }
        foreach (var d in a.PciDevices)
            if (b.PciDevices.Contains(d))
            {
                reason = $"driver '{a.Label}': pci device {d} is claimed by running driver '{b.Label}'";
                return true;
            }
        return false;
    }
}
