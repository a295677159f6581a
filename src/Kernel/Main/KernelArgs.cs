// bulkhead-kernel's command line:
//   bulkhead-kernel [--root DIR] [--run DIR] [--client PATH] [--detach] [--config FILE]
// --root, --run: as bulkhead-host's (RunDirectory); --client: the bulkhead-host binary that
// <run>/bin/service runs (ServiceWrapper; default: bulkhead-host next to this program);
// --detach, --config: the `boot` command's options, which bulkhead-host passes on unchanged,
// so a mistake there gets the message `boot` always gave. --detached-child is internal: the
// background instance that --detach starts (Detacher). Parse returns null after printing the
// usage error.
namespace Bulkhead.Kernel.Main;

internal sealed record KernelArgs(string? Root, string? Run, string? Client, bool Detach, bool DetachedChild, string? Config)
{
    public const string ClientOption = "--client";
    public const string DetachedChildFlag = "--detached-child";
    public const string Usage = "usage: bulkhead-kernel [--root DIR] [--run DIR] [--client PATH] [--detach] [--config FILE]";

    /// <summary>The options; null (the error printed) for an unknown argument.</summary>
    public static KernelArgs? Parse(string[] args)
    {
        string? root = null, run = null, client = null, config = null;
        bool detach = false, child = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--root" when i + 1 < args.Length: root = args[++i]; break;
                case "--run" when i + 1 < args.Length: run = args[++i]; break;
                case ClientOption when i + 1 < args.Length: client = args[++i]; break;
                case "--detach": detach = true; break;
                case DetachedChildFlag: child = true; break;
                case "--config" when i + 1 < args.Length: config = args[++i]; break;
                default:
                    Console.Error.WriteLine($"boot: unknown argument '{args[i]}' (usage: boot [--detach] [--config FILE])");
                    return null;
            }
        }
        return new KernelArgs(root, run, client, detach, child, config);
    }
}
