// Where things are for one invocation of bulkhead-host or bulkhead-kernel: the repository root
// (boot.conf and relative program paths are taken from it) and the run directory of the
// instance, which holds kernel.pid, boot.lock, control.sock, service.sock, system.log,
// console.log and bin/service. Chosen by --root / --run, else BULKHEAD_RUN, else
// <root>/.bulkhead/run. Both programs take the same options and so find the same instance.
namespace Bulkhead.Lib.Control;

public sealed class RunDirectory
{
    public const string RunVariable = "BULKHEAD_RUN";
    /// <summary>The component image to run, set by the launcher to its NativeAOT build.</summary>
    public const string ImageVariable = "BULKHEAD_IMAGE";

    public required string Root { get; init; }
    public required string RunDir { get; init; }

    public string PidFile => Path.Combine(RunDir, "kernel.pid");
    public string Socket => Path.Combine(RunDir, "control.sock");
    /// <summary>The socket recovery scripts reach (only `service` requests; bulkhead-kernel's ControlServer).</summary>
    public string ServiceSocket => Path.Combine(RunDir, "service.sock");
    public string SystemLog => Path.Combine(RunDir, "system.log");
    public string ConsoleLog => Path.Combine(RunDir, "console.log");
    public string LockFile => Path.Combine(RunDir, "boot.lock");

    /// <summary>The directory holding this program, and so the JIT builds of bulkhead-image,
    /// bulkhead-kernel and bulkhead-host (they are built into one output directory).</summary>
    public static string BinDir => AppContext.BaseDirectory;

    /// <summary>The directory of the component image the instance runs: the NativeAOT build
    /// the launcher names in BULKHEAD_IMAGE (fast starts, real machine code), else the JIT
    /// build next to this program.</summary>
    public static string ImageDir =>
        Environment.GetEnvironmentVariable(ImageVariable) is { Length: > 0 } aot && File.Exists(aot)
            ? Path.GetDirectoryName(aot)!
            : BinDir;

    /// <summary>The .NET installation JIT apphosts (components, bulkhead-kernel) start on:
    /// DOTNET_ROOT when set, else the one this program runs on (its runtime directory is
    /// DOTNET_ROOT/shared/Microsoft.NETCore.App/VERSION/).</summary>
    public static string DotnetRoot()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } set) return set;
        string dir = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/');
        return Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(dir)))!;
    }

    public static RunDirectory Create(string? root, string? run)
    {
        root = Path.GetFullPath(root ?? FindRoot());
        run ??= Environment.GetEnvironmentVariable(RunVariable);
        run = string.IsNullOrEmpty(run) ? Path.Combine(root, ".bulkhead", "run") : Path.GetFullPath(run);
        return new RunDirectory { Root = root, RunDir = run };
    }

    /// <summary>The nearest directory above the current one that has etc/boot.conf.</summary>
    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "etc", "boot.conf"))) return d.FullName;
        return Environment.CurrentDirectory;
    }
}
