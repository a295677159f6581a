// bulkhead-kernel's command line:
//   bulkhead-kernel [--root DIR] [--run DIR] [--client PATH] [--detach] [--config FILE] [--tap DEV=IFNAME]...
// --root, --run: as bulkhead-host's (RunDirectory); --client: the bulkhead-host binary that
// <run>/bin/service runs (ServiceWrapper; default: bulkhead-host next to this program);
// --detach, --config, --tap: the `boot` command's options (--tap puts network device DEV on the
// Linux TAP interface IFNAME, as `backend tap IFNAME;` in the file would), which bulkhead-host passes on unchanged,
// so a mistake there gets the message `boot` always gave. --detached-child is internal: the
// background instance that --detach starts (Detacher). Parse returns null after printing the
// usage error.
namespace Bulkhead.Kernel.Main;

internal sealed record KernelArgs(string? Root, string? Run, string? Client, bool Detach, bool DetachedChild, string? Config,
                                  IReadOnlyList<(string Device, string Interface)> Taps)
{
    public const string ClientOption = "--client";
    public const string DetachedChildFlag = "--detached-child";
    public const string TapOption = "--tap";
    public const string Usage = "usage: bulkhead-kernel [--root DIR] [--run DIR] [--client PATH] [--detach] [--config FILE] [--tap DEV=IFNAME]...";
    private const string BootUsage = "usage: boot [--detach] [--config FILE] [--tap DEV=IFNAME]...";

    /// <summary>The options; null (the error printed) for an unknown argument.</summary>
    public static KernelArgs? Parse(string[] args)
    {
        string? root = null, run = null, client = null, config = null;
        bool detach = false, child = false;
        var taps = new List<(string, string)>();
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
                case TapOption when i + 1 < args.Length:
                    string[] tap = args[++i].Split('=');
                    // Linux interface names: 1..15 bytes, no '/', blank or ':'.
                    if (tap.Length != 2 || tap[0].Length == 0 || tap[1].Length is 0 or > 15 || tap[1].Any(c => c is '/' or ':' || char.IsWhiteSpace(c)))
                    {
                        Console.Error.WriteLine($"boot: --tap takes DEVICE=IFNAME (an interface name of 1 to 15 characters), not '{args[i]}' ({BootUsage})");
                        return null;
                    }
                    taps.Add((tap[0], tap[1]));
                    break;
                default:
                    Console.Error.WriteLine($"boot: unknown argument '{args[i]}' ({BootUsage})");
                    return null;
            }
        }
        return new KernelArgs(root, run, client, detach, child, config, taps);
    }
}
