// Where things are for one bulkhead-host invocation: the repository root (boot.conf and
// relative program paths are taken from it) and the run directory of the instance, which
// holds kernel.pid, control.sock, system.log and console.log. Chosen by --root / --run, else
// BULKHEAD_RUN, else <root>/.bulkhead/run.
namespace Bulkhead.Host;

internal sealed class HostContext
{
    public const string RunVariable = "BULKHEAD_RUN";

    public required string Root { get; init; }
    public required string RunDir { get; init; }

    public string PidFile => Path.Combine(RunDir, "kernel.pid");
    public string Socket => Path.Combine(RunDir, "control.sock");
    /// <summary>The socket recovery scripts reach (only `service` requests; ControlServer).</summary>
    public string ServiceSocket => Path.Combine(RunDir, "service.sock");
    public string SystemLog => Path.Combine(RunDir, "system.log");
    public string ConsoleLog => Path.Combine(RunDir, "console.log");
    public string LockFile => Path.Combine(RunDir, "boot.lock");

    /// <summary>The directory holding this program, and so the JIT build of bulkhead-image.</summary>
    public static string BinDir => AppContext.BaseDirectory;

    /// <summary>The directory of the component image the instance runs: the NativeAOT build
    /// the launcher names in BULKHEAD_IMAGE (fast starts, real machine code), else the JIT
    /// build next to this program.</summary>
    public static string ImageDir =>
        Environment.GetEnvironmentVariable("BULKHEAD_IMAGE") is { Length: > 0 } aot && File.Exists(aot)
            ? Path.GetDirectoryName(aot)!
            : BinDir;

    public static HostContext Create(string? root, string? run)
    {
        root = Path.GetFullPath(root ?? FindRoot());
        run ??= Environment.GetEnvironmentVariable(RunVariable);
        run = string.IsNullOrEmpty(run) ? Path.Combine(root, ".bulkhead", "run") : Path.GetFullPath(run);
        return new HostContext { Root = root, RunDir = run };
    }

    /// <summary>The nearest directory above the current one that has etc/boot.conf.</summary>
    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "etc", "boot.conf"))) return d.FullName;
        return Environment.CurrentDirectory;
    }
}
