// bulkhead-host: the host side of Bulkhead. `bulkhead-host [--root DIR] [--run DIR] COMMAND
// [ARGS]`; the `bulkhead` launcher at the repository root builds it and passes --root.
// Commands: boot, ps, shutdown, log, stats, service, bench, help (see Usage below).
using Bulkhead.Host;
using Bulkhead.Host.Bench;
using Bulkhead.Host.Boot;
using Bulkhead.Host.Commands;

string? root = null, run = null;
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--root" && i + 1 < args.Length) root = args[++i];
    else if (args[i] == "--run" && i + 1 < args.Length) run = args[++i];
    else
    {
        rest.AddRange(args[i..]);
        break;
    }
}
if (rest.Count == 0 || rest[0] is "help" or "--help" or "-h") return Usage(rest.Count == 0 ? 2 : 0);

var ctx = HostContext.Create(root, run);
string[] sub = [.. rest.Skip(1)];
return rest[0] switch
{
    "boot" => BootCommand.Run(ctx, sub),
    "ps" => InstanceCommands.Ps(ctx, sub),
    "shutdown" => InstanceCommands.Shutdown(ctx, sub),
    "log" => InstanceCommands.Log(ctx, sub),
    "stats" => InstanceCommands.Stats(ctx, sub),
    "bench" => BenchRegistry.Run(sub),
    "service" => ServiceClient.Run(ctx, sub),
    _ => Unknown(rest[0]),
};

static int Unknown(string command)
{
    Console.Error.WriteLine($"bulkhead: unknown command '{command}'");
    return Usage(2);
}

static int Usage(int status)
{
    (status == 0 ? Console.Out : Console.Error).WriteLine("""
        usage: bulkhead [--run DIR] COMMAND [ARGS]
          boot [--detach] [--config FILE]  boot an instance (default etc/boot.conf); --detach backgrounds it
          ps                                the running instance's process table
          shutdown                          stop the running instance and all its processes
          log [--restarts]                  the running (or last) instance's system log; --restarts: RS's restarts as a table
          stats [--info | --denials]        kernel counters, or denied accesses by category
          bench NAME [--json]               run a benchmark
          service up|down|refresh|restart|update|list ...
                                            manage services through RS (thesis Fig. 2.4; 'service help')
        The run directory is --run DIR, else $BULKHEAD_RUN, else .bulkhead/run in the repository.
        """);
    return status;
}
