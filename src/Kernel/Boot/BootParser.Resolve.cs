// Cross-process checks of boot.conf, run after the whole file is read: fixed slots must fit
// the table and be distinct; every other process gets the next free slot from
// BootConfig.FirstDynamicSlot in file order (so slots, and with generation 0 the endpoints,
// are known before boot); IPC targets name boot processes and become slots; an argument
// "$name" must name a process that starts earlier.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

using Bulkhead.Lib.Config;

namespace Bulkhead.Kernel.Boot;

internal sealed partial class BootParser
{
    private void Resolve(SystemSettings system, List<BootProcess> processes, Dictionary<BootProcess, int> slotLines,
                         Dictionary<BootProcess, List<ConfigToken>> targets, Dictionary<BootProcess, int> argLines)
    {
        var owner = new Dictionary<int, BootProcess>();
        foreach (var p in processes.Where(p => p.FixedSlot))
        {
            int line = slotLines[p];
            if (p.Slot >= system.ProcSlots) throw Error(line, $"slot {p.Slot} out of range (procs {system.ProcSlots})");
            if (owner.TryGetValue(p.Slot, out var other)) throw Error(line, $"duplicate slot {p.Slot} (already taken by process '{other.Name}')");
            owner[p.Slot] = p;
        }
        int next = Math.Min(BootConfig.FirstDynamicSlot, system.ProcSlots - 1);
        foreach (var p in processes.Where(p => !p.FixedSlot))
        {
            while (next < system.ProcSlots && owner.ContainsKey(next)) next++;
            if (next >= system.ProcSlots) throw Error(p.Line, $"no free slot for process '{p.Name}' (procs {system.ProcSlots})");
            p.Slot = next;
            owner[next] = p;
        }

        var byName = processes.ToDictionary(p => p.Name);
        foreach (var p in processes)
        {
            var priv = p.Privileges;
            foreach (var t in targets[p])
            {
                if (!byName.TryGetValue(t.Text, out var target)) throw Error(t.Line, $"unknown target '{t.Text}'");
                if (!priv.AddTarget(Endpoint.Make(0, target.Slot)))
                    throw Error(t.Line, $"too many targets (at most {PrivilegeBlock.MaxTargets})");
            }
            p.Privileges = priv;

            int index = processes.IndexOf(p);
            foreach (var r in p.References)
                if (!byName.TryGetValue(r, out var target) || processes.IndexOf(target) >= index)
                    throw Error(argLines[p], $"'${r}' does not name an earlier process");
        }
    }
}
