// Text the control socket sends back: the process table (ps), the denial table (stats
// --denials, thesis Fig. 5.5 categories), kernel counters (info) and the machine's devices with
// who drives them and what their DMA may reach (stats --devices). Plain aligned columns,
// one row per line, so they read well and grep well.
using System.Globalization;
using System.Text;
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Main.Control;

internal static class Reports
{
    /// <summary>The process table; rows whose name is a service label get RS's columns
    /// (SVC_STATE: RS's state of the service, next to the kernel's STATE of the process;
    /// RESTARTS; REASON: the last failure), and services with no process now (restarting,
    /// failed) get a row of their own.</summary>
    /// <param name="services">label → `service list` fields: label endpoint state restarts reason incarnation.</param>
    public static string ProcessTable(IReadOnlyList<ProcInfo> rows, IReadOnlyDictionary<string, string[]>? services = null)
    {
        services ??= new Dictionary<string, string[]>();
        var sb = new StringBuilder();
        sb.AppendLine(Row("SLOT", "ENDPOINT", "NAME", "PID", "UID", "JAIL", "STATE", "LEVEL", "TRAPS") + Svc("SVC_STATE", "RESTARTS", "REASON"));
        var shown = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in rows)
        {
            string name = p.Name.ToString();
            string svc = "";
            if (services.TryGetValue(name, out var s) && s[1] == Num(p.Endpoint))
            {
                svc = Svc(s[2], s[3], s[4]);
                shown.Add(name);
            }
            sb.AppendLine(Row(Num(p.Slot), Num(p.Endpoint), name, Num(p.HostPid), p.HostUid == 0 ? "-" : p.HostUid.ToString(CultureInfo.InvariantCulture),
                              p.ConfinementText, StateText(p), Num(p.Level), Num(p.Traps)) + svc);
        }
        foreach (var (label, s) in services.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (!shown.Contains(label)) sb.AppendLine(Row("-", s[1], label, "-", "-", "-", "-", "-", "-") + Svc(s[2], s[3], s[4]));
        return sb.ToString();
    }

    private static string Svc(string state, string restarts, string reason) => $" {state,-11} {restarts,8} {reason}";

    private static string StateText(in ProcInfo p) => p.State switch
    {
        ProcState.Sending or ProcState.SendRec or ProcState.Receiving when p.BlockedOn != Endpoint.None
            => $"{p.State}({Endpoint.Name(p.BlockedOn)})",
        _ => p.State.ToString(),
    };

    private static string Row(string slot, string ep, string name, string pid, string uid, string jail, string state, string level, string traps) =>
        $"{slot,4} {ep,8} {name,-15} {pid,8} {uid,10} {jail,-11} {state,-18} {level,5} {traps,10}";

    public static string Denials(long[] counts)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"GROUP",-10} {"DESCRIPTION",-34} {"COUNT",10}");
        long total = 0;
        for (int i = 0; i < DenialText.Count && i < counts.Length; i++)
        {
            var d = (Denial)i;
            sb.AppendLine($"{DenialText.Group(d),-10} {DenialText.Describe(d),-34} {Num(counts[i]),10}");
            total += counts[i];
        }
        sb.AppendLine($"{"total",-10} {"",-34} {Num(total),10}");
        return sb.ToString();
    }

    public static string Info(in KInfo k, int kernelPid, string runDir) => string.Create(CultureInfo.InvariantCulture,
        $"""
        kernel pid    {kernelPid}
        run directory {runDir}
        uptime        {k.UptimeNs / 1_000_000_000.0:F1} s
        processes     {k.LiveProcs} live of {k.ProcSlots} slots
        traps         {k.Traps}
        kernel calls  {k.KernelCalls}
        messages      {k.Messages}
        notifies      {k.Notifies}

        """);

    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>One row per device of boot.conf: where it sits, the process whose privileges
    /// hold its ports (its driver), and for a bus master the page frames its IOMMU domain
    /// allows now and the DMA accesses the IOMMU refused.</summary>
    public static string Devices(BootDevices devices, Kernel kernel)
    {
        var names = kernel.ProcessTable().ToDictionary(p => p.Endpoint, p => p.Name.ToString());
        var sb = new StringBuilder();
        sb.AppendLine($"{"DEVICE",-8} {"MODEL",-8} {"WHERE",-22} {"IRQ",3} {"MAC",-17} {"DRIVER",-16} {"DMA_FRAMES",10} {"DMA_DENIED",10} BACKEND");
        foreach (var d in devices.Devices)
        {
            string where = d.IsPci ? $"pci {d.PciText} io 0x{d.IoBase:x}" : $"io 0x{d.IoBase:x}";
            var holders = d.IoRanges.SelectMany(r => kernel.PortHolders(r.Base)).Distinct().ToList();
            string driver = holders.Count == 0 ? "-"
                : string.Join(',', holders.Select(e => $"{(names.TryGetValue(e, out var n) ? n : "?")}({Num(e)})"));
            string frames = "-", denied = "-";
            if (d.IsPci)
            {
                ushort rid = new Bulkhead.Machine.Pci.PciAddress((byte)d.PciBus, (byte)d.PciDevice, (byte)d.PciFunction).RequesterId;
                frames = Num(devices.Board.Iommu.AllowedFrames(rid));
                denied = Convert.ToString(devices.Board.Iommu.Denied(rid), CultureInfo.InvariantCulture)!;
            }
            sb.AppendLine($"{d.Name,-8} {d.ModelName,-8} {where,-22} {d.Irq,3} {d.MacText,-17} {driver,-16} {frames,10} {denied,10} {d.BackendText}");
        }
        return sb.ToString();
    }
}
