// The launcher's commands in one table — name, arguments, what it does, and who runs it — from
// which `bulkhead-host help` (and through it `./bulkhead help`) prints the usage text and
// Program.cs dispatches. `boot` becomes bulkhead-kernel, `bench` runs its own kernel, and the
// others are clients of a running instance. `test` and `help` are the launcher script's own (it
// needs no instance and no built host for them); the service utility's options come from
// ServiceCommandLine.
using Bulkhead.Commands.Service;
using Bulkhead.Lib.Control;

namespace Bulkhead.Host.Commands;

internal static class CommandTable
{
    public sealed record Command(string Name, string Arguments, string Description, Func<RunDirectory, string[], int>? Run);

    public static readonly Command[] All =
    [
        new("boot", "[--detach] [--config FILE] [--tap DEV=IFNAME]", "boot an instance (default etc/boot.conf): runs bulkhead-kernel and shows its console; --detach runs it in the background; --tap puts network device DEV (eth0, eth1) on Linux TAP interface IFNAME", Boot.KernelLauncher.Boot),
        new("ps", "", "the running instance's process table, with RS's service state", InstanceCommands.Ps),
        new("shutdown", "", "stop the running instance and every process of it", InstanceCommands.Shutdown),
        new("log", "[--restarts]", "the running (or last) instance's system log; --restarts: RS's restart events as a table", InstanceCommands.Log),
        new("stats", "[--info|--denials|--devices|--net]", "kernel counters; denied accesses by category; devices, their drivers and what their DMA may reach; INET's interfaces and counters", InstanceCommands.Stats),
        new("run", "PROGRAM [ARGS]", "run a user program (ping, daytime, daytimed, wget, nc, netstat) inside the running instance, on this terminal", InstanceCommands.Run),
        new("bench", "NAME [--json]", "run a benchmark", (_, a) => Bench.BenchRegistry.Run(a)),
        new("swifi", "inject|run|report ...", "fault injection into a running driver's machine code (thesis §5.1; docs/swifi.md): inject LABEL, a campaign (run), its tables (report)", Swifi.SwifiCommand.Run),
        new("service", "up|down|refresh|restart|update|list ...", "manage services through RS in the running instance (thesis Fig. 2.4; below)", ServiceClient.Run),
        new("test", "[ARGS]", "build and run every test project (tests/*/*.Tests.csproj); the launcher's", null),
        new("help", "", "this text", null),
    ];

    public static Command? Find(string name) => Array.Find(All, c => c.Name == name);

    public static string Usage()
    {
        var sb = new System.Text.StringBuilder("usage: ./bulkhead [--run DIR] COMMAND [ARGS]\n");
        foreach (var c in All)
        {
            string head = $"  {c.Name} {c.Arguments}".TrimEnd();
            sb.Append(head.Length < 36 ? head.PadRight(36) + c.Description : head + "\n" + new string(' ', 36) + c.Description).Append('\n');
        }
        sb.Append("The run directory is --run DIR, else $BULKHEAD_RUN, else .bulkhead/run in the repository.\n\n");
        sb.Append(ServiceCommandLine.Usage.TrimEnd()).Append('\n');
        return sb.ToString();
    }
}
