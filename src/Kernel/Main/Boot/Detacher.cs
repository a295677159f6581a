// `boot --detach`: starts this same program (bulkhead-kernel) again with `--detached-child`
// and the same --root, --run, --client, --tap and the configuration, in a new session
// (HostSpawn: posix_spawn with POSIX_SPAWN_SETSID), stdin from /dev/null, stdout and stderr to
// <run>/console.log, so it outlives the launcher and its terminal. Then waits (30 s at most)
// until the new instance's control socket answers and reports it, or shows the console log
// if the child died first. No System.Diagnostics.Process: the child must not be tied to us.
using Bulkhead.Lib.Control;
using Bulkhead.Lib.Host;

namespace Bulkhead.Kernel.Main.Boot;

internal static class Detacher
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(30);

    public static int Detach(RunDirectory ctx, string config, string? client, IReadOnlyList<(string Device, string Interface)> taps)
    {
        // Under `dotnet bulkhead-kernel.dll` the process path is dotnet; pass the assembly along.
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var argv = new List<string> { exe };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") argv.Add(Environment.GetCommandLineArgs()[0]);
        argv.AddRange(["--root", ctx.Root, "--run", ctx.RunDir]);
        if (client is not null) argv.AddRange([KernelArgs.ClientOption, client]);
        foreach (var (device, ifname) in taps) argv.AddRange([KernelArgs.TapOption, $"{device}={ifname}"]);
        argv.AddRange(["--config", config, KernelArgs.DetachedChildFlag]);

        int pid;
        using (var console = File.OpenHandle(ctx.ConsoleLog, FileMode.Create, FileAccess.Write))
        using (var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read))
        {
            pid = HostSpawn.Spawn(exe, argv, (int)devNull.DangerousGetHandle(), (int)console.DangerousGetHandle(), newSession: true);
        }
        if (pid < 0)
        {
            Console.Error.WriteLine($"boot: cannot start the detached kernel (errno {-pid})");
            return 1;
        }

        var until = DateTime.UtcNow + BootTimeout;
        while (DateTime.UtcNow < until)
        {
            if (ControlClient.Answers(ctx.Socket))
            {
                Console.WriteLine($"Bulkhead booted (kernel pid {pid}, run directory {ctx.RunDir})");
                return 0;
            }
            if (HostSpawn.Reap(pid))
            {
                Console.Error.WriteLine($"boot: the kernel (pid {pid}) exited during boot; its console ({ctx.ConsoleLog}):");
                Console.Error.Write(File.ReadAllText(ctx.ConsoleLog));
                return 1;
            }
            Thread.Sleep(100);
        }
        Console.Error.WriteLine($"boot: kernel pid {pid} did not answer on {ctx.Socket} within {BootTimeout.TotalSeconds:F0} s; see {ctx.ConsoleLog}");
        return 1;
    }
}
