// The `service` command as components see it: at boot the kernel writes <run>/bin/service, a
// /bin/sh wrapper that execs bulkhead-host (the --client bulkhead-host passed when it started
// this kernel, else the one next to this program) with the instance's --root and --run and
// `service "$@"`, and puts <run>/bin first in the PATH of every component. So a recovery
// script that RS runs with /bin/sh (thesis Fig. 4.2) can say `service restart <label>`, and
// the request reaches RS through the instance's control socket like `./bulkhead service`.
// Also provides the rest of the component environment the kernel adds (BULKHEAD_RUN/ROOT).
using System.Text;
using Bulkhead.Lib.Control;

namespace Bulkhead.Kernel.Main.Boot;

internal static class ServiceWrapper
{
    public const string RootVariable = "BULKHEAD_ROOT";

    public static string BinDir(RunDirectory ctx) => Path.Combine(ctx.RunDir, "bin");

    /// <summary>Writes <run>/bin/service (mode 755); the path written.</summary>
    public static string Write(RunDirectory ctx, string? client)
    {
        string dir = BinDir(ctx);
        Directory.CreateDirectory(dir);
        var sb = new StringBuilder("#!/bin/sh\n");
        sb.Append("# Written by bulkhead-kernel at boot: `service ...` inside this Bulkhead instance.\n");
        sb.Append("exec");
        foreach (var word in HostCommand(client)) sb.Append(' ').Append(Quote(word));
        sb.Append(" --root ").Append(Quote(ctx.Root));
        sb.Append(" --run ").Append(Quote(ctx.RunDir));
        sb.Append(" service \"$@\"\n");
        string path = Path.Combine(dir, "service");
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, sb.ToString());
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                      UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
                                      UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.Move(tmp, path, overwrite: true);
        return path;
    }

    /// <summary>Extra environment of every component: run directory, repository root, and
    /// PATH with <run>/bin first.</summary>
    public static void AddEnvironment(RunDirectory ctx, IDictionary<string, string> env)
    {
        env[RunDirectory.RunVariable] = ctx.RunDir;
        env[RootVariable] = ctx.Root;
        string path = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } p ? p : "/usr/local/bin:/usr/bin:/bin";
        env["PATH"] = BinDir(ctx) + ":" + path;
    }

    /// <summary>The directory of the bulkhead-host the wrapper runs (its apphost or dll): it
    /// must be among the jail's program directories, or a recovery script's `service` finds no
    /// program (the NativeAOT kernel in out/aot lives apart from the JIT bulkhead-host).</summary>
    public static string ClientDir(string? client) => Path.GetDirectoryName(HostCommand(client)[^1])!;

    /// <summary>How to start bulkhead-host: <paramref name="client"/>, else the apphost next to
    /// this program, else dotnet + the dll there.</summary>
    private static List<string> HostCommand(string? client)
    {
        if (client is not null) return [Path.GetFullPath(client)];
        string apphost = Path.Combine(RunDirectory.BinDir, "bulkhead-host");
        if (File.Exists(apphost)) return [apphost];
        string exe = Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        return [exe, Path.Combine(RunDirectory.BinDir, "bulkhead-host.dll")];
    }

    /// <summary>A word for /bin/sh: single-quoted, ' written as '\''.</summary>
    public static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
}
