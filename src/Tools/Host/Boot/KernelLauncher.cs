// `bulkhead boot [--detach] [--config FILE]`: bulkhead-host becomes bulkhead-kernel (exec: the
// same pid, terminal, signals and exit status), which does the whole boot — checking the
// configuration, the run directory, devices, boot processes, control socket, `--detach` and
// shutdown (src/Kernel/Main). The boot arguments go on unchanged, after --root, --run and
// --client (this program, which <run>/bin/service runs). The kernel binary is the NativeAOT
// build the launcher names in BULKHEAD_KERNEL, else the JIT build next to this program; the
// image it runs is named in BULKHEAD_IMAGE (this program's choice, RunDirectory.ImageDir),
// and DOTNET_ROOT is passed on for the JIT apphosts it starts.
using Bulkhead.Lib.Control;
using Bulkhead.Lib.Host;

namespace Bulkhead.Host.Boot;

internal static class KernelLauncher
{
    public const string KernelVariable = "BULKHEAD_KERNEL";
    public const string KernelBinary = "bulkhead-kernel";

    /// <summary>The bulkhead-kernel to run.</summary>
    public static string KernelPath =>
        Environment.GetEnvironmentVariable(KernelVariable) is { Length: > 0 } aot && File.Exists(aot)
            ? aot
            : Path.Combine(RunDirectory.BinDir, KernelBinary);

    /// <summary>Execs bulkhead-kernel; returns (1, with a message) only when it cannot.</summary>
    public static int Boot(RunDirectory ctx, string[] args)
    {
        string kernel = KernelPath;
        if (!File.Exists(kernel))
        {
            Console.Error.WriteLine($"boot: no {KernelBinary} at {kernel} (the launcher builds it: ./bulkhead boot)");
            return 1;
        }
        var argv = new List<string> { kernel, "--root", ctx.Root, "--run", ctx.RunDir };
        string self = Path.Combine(RunDirectory.BinDir, "bulkhead-host");
        if (File.Exists(self)) argv.AddRange(["--client", self]);
        argv.AddRange(args);
        var env = new Dictionary<string, string>
        {
            [RunDirectory.ImageVariable] = Path.Combine(RunDirectory.ImageDir, "bulkhead-image"),
            ["DOTNET_ROOT"] = RunDirectory.DotnetRoot(),
        };
        Console.Out.Flush();
        int errno = HostSpawn.Exec(kernel, argv, env);
        Console.Error.WriteLine($"boot: cannot run {kernel} (errno {errno})");
        return 1;
    }
}
