// The keys of a driver section (thesis Fig. 2.6). `ipc calls`, `ipc targets`, `ipc kernel`
// and `driver` may appear once per driver; `isa io`, `isa irq`, `pci device` and `pci class`
// may repeat, their values accumulate up to the limits in Policy. Trap names go through
// Trap.Parse and kernel-call names through KernelCall.TryParse, so a policy accepts exactly
// what the kernel knows. The count limit is checked before each value is read. A key of
// Fig. 2.6 that nothing in Bulkhead could enforce (`isa mem`) is refused with the reason,
// never accepted and ignored.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

using Bulkhead.Lib.Config;

namespace Bulkhead.Servers.Rs.Policy;

internal sealed partial class PolicyParser
{
    private static readonly Dictionary<string, string[]> SecondWords = new()
    {
        ["ipc"] = ["calls", "targets", "kernel"],
        ["isa"] = ["io", "irq"],
        ["pci"] = ["device", "class"],
    };

    /// <summary>Keys of Fig. 2.6 that Bulkhead refuses, and why: a policy that grants what
    /// nobody enforces would read as least authority and be nothing of the kind.</summary>
    private static readonly Dictionary<string, string> Unsupported = new()
    {
        ["isa mem"] = "'isa mem' is not supported: Bulkhead has no memory-mapped device I/O; no kernel call maps " +
                      "device memory into a driver, so the grant could not be enforced (devices are reached through " +
                      "'isa io' ports or a 'pci device'); remove the line",
    };

    private static readonly HashSet<string> OnceOnly = ["ipc calls", "ipc targets", "ipc kernel", "driver"];

    private void Statement(PolicyBuilder b, List<ConfigToken> stmt)
    {
        var first = stmt[0];
        string key;
        int valuesFrom;
        if (first.Text == "driver")
        {
            key = "driver";
            valuesFrom = 1;
        }
        else if (SecondWords.TryGetValue(first.Text, out var seconds))
        {
            if (stmt.Count >= 2 && Unsupported.TryGetValue($"{first.Text} {stmt[1].Text}", out string? why))
                throw Error(first.Line, why);
            string expected = string.Join(", ", seconds.Select(s => $"'{first.Text} {s}'"));
            if (stmt.Count < 2 || !seconds.Contains(stmt[1].Text))
                throw Error(first.Line, $"unknown key '{string.Join(' ', stmt.Take(2).Select(t => t.Text))}' in {b.What} (expected {expected})");
            key = $"{first.Text} {stmt[1].Text}";
            valuesFrom = 2;
        }
        else
        {
            throw Error(first.Line, $"unknown key '{first.Text}' in {b.What}");
        }

        if (OnceOnly.Contains(key))
        {
            if (b.Seen.TryGetValue(key, out int at)) throw Error(first.Line, $"duplicate '{key}' in {b.What} (first at line {at})");
            b.Seen[key] = first.Line;
        }
        var values = stmt.Skip(valuesFrom).ToList();
        if (values.Count == 0) throw Error(first.Line, $"'{key}' takes one or more values");
        foreach (var v in values)
        {
            switch (key)
            {
                case "ipc calls": IpcCall(b, v); break;
                case "ipc targets": IpcTarget(b, v); break;
                case "ipc kernel": IpcKernel(b, v); break;
                case "driver": Driver(b, v); break;
                case "isa io": IsaRange(b.IsaIo, v, key, Policy.MaxIsaIo, 0xFFFF); break;
                case "isa irq": IsaIrq(b, v); break;
                case "pci device": PciDeviceValue(b, v); break;
                case "pci class": PciClassValue(b, v); break;
            }
        }
    }

    private void IpcCall(PolicyBuilder b, ConfigToken v)
    {
        int trap = Trap.Parse(v.Text);
        if (trap == 0) throw Error(v.Line, $"unknown trap '{v.Text}'");
        b.TrapMask |= Trap.Bit(trap);
    }

    private void IpcKernel(PolicyBuilder b, ConfigToken v)
    {
        if (!KernelCall.TryParse(v.Text, out var calls)) throw Error(v.Line, $"unknown kernel call '{v.Text}'");
        b.KernelCalls.UnionWith(calls);
    }

    private void IpcTarget(PolicyBuilder b, ConfigToken v)
    {
        if (PolicyTargets.IsAll(v.Text))
        {
            b.AllTargets = true;
            return;
        }
        if (PolicyTargets.IsUsers(v.Text))
        {
            b.ServesUsers = true;
            return;
        }
        CheckLabel(v, "ipc target");
        if (b.Targets.Contains(v.Text)) return;
        if (!PolicyTargets.IsKernelTask(v.Text) && b.Targets.Count(t => !PolicyTargets.IsKernelTask(t)) >= PrivilegeBlock.MaxTargets)
            throw Error(v.Line, $"too many ipc targets (at most {PrivilegeBlock.MaxTargets})");
        b.Targets.Add(v.Text);
    }

    private void Driver(PolicyBuilder b, ConfigToken v)
    {
        CheckLabel(v, "driver label");
        if (!b.Drivers.Contains(v.Text)) b.Drivers.Add(v.Text);
    }

    private void IsaRange(List<AddressRange> ranges, ConfigToken v, string key, int max, ulong last)
    {
        if (ranges.Count >= max) throw Error(v.Line, $"too many '{key}' ranges (at most {max})");
        var r = Range(v, key, last);
        if (ranges.FirstOrDefault(o => o.Overlaps(r)) is { Length: > 0 } other)
            throw Error(v.Line, other == r ? $"duplicate '{key}' range {r}" : $"'{key}' range {r} overlaps {other}");
        ranges.Add(r);
    }

    private void IsaIrq(PolicyBuilder b, ConfigToken v)
    {
        if (b.IsaIrqs.Count >= Policy.MaxIsaIrqs) throw Error(v.Line, $"too many 'isa irq' lines (at most {Policy.MaxIsaIrqs})");
        int irq = Irq(v);
        if (b.IsaIrqs.Contains(irq)) throw Error(v.Line, $"duplicate 'isa irq' {irq}");
        b.IsaIrqs.Add(irq);
    }

    private void PciDeviceValue(PolicyBuilder b, ConfigToken v)
    {
        var d = Device(v);
        if (b.PciDevices.Contains(d)) throw Error(v.Line, $"duplicate 'pci device' {d}");
        b.PciDevices.Add(d);
    }

    private void PciClassValue(PolicyBuilder b, ConfigToken v)
    {
        var c = Class(v);
        if (b.PciClasses.Contains(c)) throw Error(v.Line, $"duplicate 'pci class' {c}");
        b.PciClasses.Add(c);
    }
}
