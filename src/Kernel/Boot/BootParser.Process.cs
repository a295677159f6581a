// The `process NAME` section of boot.conf: program, slot, args, arena, ipc calls / targets /
// kernel, system, io (port ranges BASE:LEN in hex, repeatable), trusted (a trusted driver of
// the TCB: PrivilegeBlock.DeviceAuthority, for the PCI-bus and IOMMU drivers), files, and
// restart (RS adopts it and has the kernel start it again from this entry when it dies). Trap names go through Trap.Parse and kernel-call names through
// KernelCall.TryParse, so the configuration accepts exactly what the kernel knows. IPC
// targets are collected here and resolved to slots once every process is known.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

using Bulkhead.Lib.Config;

namespace Bulkhead.Kernel.Boot;

internal sealed partial class BootParser
{
    private static readonly HashSet<string> ProcessKeys = ["program", "slot", "args", "arena", "ipc", "system", "io", "trusted", "files", "restart"];

    /// <summary>Kernel task names accepted (and ignored) as IPC targets: kernel calls are
    /// governed by 'ipc kernel', not by the target list.</summary>
    private static readonly HashSet<string> KernelTargets = new(StringComparer.OrdinalIgnoreCase) { "KERNEL", "SYSTEM", "CLOCK" };

    /// <summary>What the parser knows about one process section while reading it.</summary>
    private sealed class ProcessState(BootProcess proc)
    {
        public BootProcess Proc { get; } = proc;
        public PrivilegeBlock Privileges;
        public int ProgramLine;
        public int SlotLine;
        public int ArgsLine;
        public int RestartLine;
        public List<ConfigToken> Targets { get; } = [];
        public HashSet<string> Seen { get; } = [];
    }

    private void ProcessStatement(ProcessState s, List<ConfigToken> stmt)
    {
        var key = stmt[0];
        string what = $"process '{s.Proc.Name}'";
        if (!ProcessKeys.Contains(key.Text)) throw Error(key.Line, $"unknown key '{key.Text}' in {what}");
        if (key.Text is not ("ipc" or "io") && !s.Seen.Add(key.Text)) throw Error(key.Line, $"duplicate '{key.Text}' in {what}");
        switch (key.Text)
        {
            case "program":
                Arity(stmt, 2, "'image NAME' or 'path FILE'");
                s.Proc.Kind = stmt[1].Text switch
                {
                    "image" => ProgramKind.Image,
                    "path" => ProgramKind.Path,
                    _ => throw Error(stmt[1].Line, $"unknown program kind {stmt[1].Shown} (expected 'image' or 'path')"),
                };
                s.Proc.Program = stmt[2].Text;
                s.ProgramLine = key.Line;
                break;
            case "slot":
                Arity(stmt, 1, "one number");
                s.Proc.Slot = Number(stmt[1], "slot", 0, SystemSettings.MaxProcs - 1);
                s.Proc.FixedSlot = true;
                s.SlotLine = stmt[1].Line;
                break;
            case "arena":
                Arity(stmt, 1, "one number (KiB)");
                s.Proc.ArenaKiB = Number(stmt[1], "arena", SystemSettings.MinArenaKiB, SystemSettings.MaxArenaKiB);
                break;
            case "args":
                if (stmt.Count < 2) throw Error(key.Line, "'args' takes one or more arguments");
                s.Proc.Args = stmt.Skip(1)
                    .SelectMany(t => t.Is(ConfigTokenKind.String) ? t.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [t.Text])
                    .ToList();
                s.ArgsLine = key.Line;
                break;
            case "system":
                Arity(stmt, 0, "no value");
                s.Privileges.Flags |= PrivilegeBlock.SysProc;
                break;
            case "files":
                Arity(stmt, 1, "'bare' or 'host'");
                s.Proc.Files = stmt[1].Text switch
                {
                    "bare" => Host.Jail.JailView.Bare,
                    "host" => Host.Jail.JailView.Host,
                    _ => throw Error(stmt[1].Line, $"unknown file view {stmt[1].Shown} (expected 'bare' or 'host')"),
                };
                break;
            case "restart":
                Arity(stmt, 0, "no value");
                s.Proc.Restart = true;
                s.RestartLine = key.Line;
                break;
            case "trusted":
                Arity(stmt, 0, "no value");
                s.Privileges.Flags |= PrivilegeBlock.DeviceAuthority;
                break;
            case "io":
                if (stmt.Count < 2) throw Error(key.Line, "'io' takes one or more port ranges BASE:LEN (hex)");
                foreach (var t in stmt.Skip(1))
                {
                    var parts = t.Text.Split(':');
                    if (parts.Length != 2) throw Error(t.Line, $"bad port range {t.Shown} (expected BASE:LEN in hex)");
                    int b = Hex(new ConfigToken(t.Kind, parts[0], t.Line), "io base", 0, 0xFFFF);
                    int n = Hex(new ConfigToken(t.Kind, parts[1], t.Line), "io length", 1, Math.Min(0xFFFF, 0x10000 - b));
                    if (!s.Privileges.AddIoRange(b, n)) throw Error(t.Line, $"too many port ranges in {what} (at most {PrivilegeBlock.MaxIoRanges})");
                }
                break;
            case "ipc":
                IpcStatement(s, stmt);
                break;
        }
    }

    /// <summary>`restart;` hands a process to RS (docs/rs.md, "Boot processes"): PM becomes its
    /// parent of record, so both must be boot processes at their fixed slots, and neither of
    /// them can be restarted (thesis §4.3.2: the core servers are not recoverable).</summary>
    private void CheckRestart(List<BootProcess> processes, Dictionary<BootProcess, int> restartLines)
    {
        foreach (var p in processes.Where(p => p.Restart))
        {
            int line = restartLines[p];
            if (p.Slot is Endpoint.Pm or Endpoint.Rs)
                throw Error(line, $"process '{p.Name}' in slot {p.Slot} cannot be restarted: PM and RS are the core of recovery (thesis §4.3.2)");
            foreach (int core in new[] { Endpoint.Pm, Endpoint.Rs })
                if (!processes.Any(q => q.Slot == core && q.FixedSlot))
                    throw Error(line, $"'restart' in process '{p.Name}' needs {(core == Endpoint.Pm ? "pm" : "rs")} as a boot process in slot {core}");
        }
    }

    private void IpcStatement(ProcessState s, List<ConfigToken> stmt)
    {
        if (stmt.Count < 3) throw Error(stmt[0].Line, "'ipc' takes 'calls', 'targets' or 'kernel' and a list of names");
        var sub = stmt[1];
        var items = stmt.Skip(2);
        switch (sub.Text)
        {
            case "calls":
                foreach (var t in items)
                {
                    int trap = Trap.Parse(t.Text);
                    if (trap == 0) throw Error(t.Line, $"unknown trap '{t.Text}'");
                    s.Privileges.TrapMask |= Trap.Bit(trap);
                }
                break;
            case "kernel":
                foreach (var t in items)
                {
                    if (!KernelCall.TryParse(t.Text, out var calls)) throw Error(t.Line, $"unknown kernel call '{t.Text}'");
                    foreach (int c in calls) s.Privileges.AllowCall(c);
                }
                break;
            case "targets":
                foreach (var t in items)
                {
                    if (string.Equals(t.Text, "ALL", StringComparison.OrdinalIgnoreCase)) s.Privileges.Flags |= PrivilegeBlock.AllTargets;
                    else if (!KernelTargets.Contains(t.Text)) s.Targets.Add(t);
                }
                break;
            default:
                throw Error(sub.Line, $"unknown ipc key '{sub.Text}' (expected 'calls', 'targets' or 'kernel')");
        }
    }
}
