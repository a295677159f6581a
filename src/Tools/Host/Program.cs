// bulkhead-host: the host client of Bulkhead. `bulkhead-host [--root DIR] [--run DIR] COMMAND
// [ARGS]`; the `bulkhead` launcher at the repository root builds it and passes --root.
// Commands: Commands/CommandTable.cs, which also makes the usage text. `boot` becomes
// bulkhead-kernel, the kernel process (Boot/KernelLauncher.cs); the others talk to it.
using Bulkhead.Host;
using Bulkhead.Host.Commands;
using Bulkhead.Lib.Control;

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

if (CommandTable.Find(rest[0]) is not { Run: { } command })
{
    Console.Error.WriteLine($"bulkhead: unknown command '{rest[0]}'");
    return Usage(2);
}
var ctx = RunDirectory.Create(root, run);
return command(ctx, [.. rest.Skip(1)]);

static int Usage(int status)
{
    (status == 0 ? Console.Out : Console.Error).Write(CommandTable.Usage());
    return status;
}
