// The plumbing the benchmark runners share, so that each runner keeps only what it measures:
//   ParseArgs      `--json` anywhere and `--n N` (else the runner's default N);
//   TryImage       the repository root and the NativeAOT image the launcher builds in it
//                  (out/aot/bulkhead-image); false, said on stderr, when there is none;
//   Testbed        the kernel, and the network cards on a Board with the bus drivers
//                  (BenchHost.Testbed.cs);
//   BootServers    PM, DS and RS as etc/boot.conf defines them (BootFromConfig), RS with
//                  the runner's extra options;
//   Spawn          a component whose stdout is a pipe the runner reads;
//   SpawnClient    a client component whose stdin and stdout are pipes the runner holds;
//   Expect         the client's next line, which must start with a given word, within a time;
//   Print          the results as a table or as one JSON object on one line.
// Rules: a result's value is already JSON (numbers, or strings with their quotes), so the JSON
// line is printed as it stands; a runner that cannot set up throws, since a half-built run
// measures nothing. Only a missing image is an expected outcome (TryImage).
using System.Globalization;
using System.Text;
using Bulkhead.Kernel;
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Host.Bench;

internal static unsafe partial class BenchHost
{
    /// <summary>The word after <paramref name="option"/> among the arguments, or null.</summary>
    public static string? Option(string[] args, string option)
    {
        int at = Array.IndexOf(args, option);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    /// <summary>Whether `--json` is among the arguments, and the number after `--n` (else
    /// <paramref name="defaultN"/>).</summary>
    public static (bool Json, int N) ParseArgs(string[] args, int defaultN)
    {
        int n = Option(args, "--n") is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : defaultN;
        return (args.Contains("--json"), n);
    }

    /// <summary>The whole number of MiB after `--size` (else <paramref name="defaultMiB"/>);
    /// false, said on stderr as benchmark <paramref name="bench"/>, when it is not one.</summary>
    public static bool TrySizeMiB(string[] args, string bench, int defaultMiB, out int sizeMiB)
    {
        sizeMiB = defaultMiB;
        if (Option(args, "--size") is not { } text) return true;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out sizeMiB) && sizeMiB >= 1) return true;
        Console.Error.WriteLine($"bench {bench}: --size takes a whole number of MiB, not '{text}'");
        return false;
    }

    /// <summary>The repository root and its NativeAOT image; when the image is missing, says so
    /// on stderr as benchmark <paramref name="bench"/> and returns false.</summary>
    public static bool TryImage(string bench, out string root, out string image)
    {
        root = RepoRoot();
        image = Path.Combine(root, "out", "aot", "bulkhead-image");
        if (File.Exists(image)) return true;
        Console.Error.WriteLine($"bench {bench}: no NativeAOT image at {image} (./bulkhead bench builds it)");
        return false;
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "etc", "drivers.conf"))) return d.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    /// <summary>PM, DS and RS exactly as etc/boot.conf defines them (slots, privileges, files);
    /// RS's arguments get <paramref name="rsOptions"/> appended.</summary>
    public static void BootServers(Kernel.Kernel kernel, string image, string root, params string[] rsOptions)
    {
        var conf = BootConfig.Load(Path.Combine(root, "etc", "boot.conf"));
        foreach (string name in new[] { "pm", "ds", "rs" })
            BootFromConfig(kernel, image, root, conf, name, name == "rs" ? rsOptions : []);
    }

    /// <summary>Starts boot process <paramref name="name"/> of <paramref name="conf"/> from the
    /// image, at its slot with its privileges, <paramref name="extraArgs"/> after its own; or throws.</summary>
    public static void BootFromConfig(Kernel.Kernel kernel, string image, string root, BootConfig conf, string name, string[] extraArgs)
    {
        var p = conf.Find(name) ?? throw new InvalidOperationException($"etc/boot.conf has no process '{name}'");
        var spec = p.ToSpec(Path.GetDirectoryName(image)!, root, n => throw new InvalidOperationException($"{name}: '${n}' arguments are not supported here"));
        if (extraArgs.Length > 0) spec = spec with { Args = [.. spec.Args, .. extraArgs] };
        int ep = kernel.Spawn(spec);
        if (ep != p.Slot) throw new InvalidOperationException($"cannot start {name}: {Err.Name(ep)}");
    }

    /// <summary>The confinement of a benchmark kernel: components read their image's directory
    /// (and this program's); null for the unconfined comparison runs.</summary>
    public static Kernel.Host.Jail.JailOptions? Jail(string image, bool confined) =>
        confined ? new Kernel.Host.Jail.JailOptions { ReadOnlyPaths = [AppContext.BaseDirectory, Path.GetDirectoryName(image)!] } : null;

    /// <summary>Starts component <paramref name="name"/> of the image with its stdout on a pipe
    /// read through <paramref name="stdout"/>; returns its endpoint, or throws.</summary>
    public static int Spawn(Kernel.Kernel kernel, string image, string name, PrivilegeBlock priv, out StreamReader stdout, params string[] args)
    {
        int ep = SpawnPiped(kernel, image, name, priv, [name, .. args], withStdin: false, out _, out stdout);
        if (ep < 0) throw new InvalidOperationException($"cannot start {name}: {Err.Name(ep)}");
        return ep;
    }

    /// <summary>Starts the client <paramref name="name"/> running <paramref name="argv"/> of the
    /// image, talked to through <paramref name="stdin"/> (flushed on every write) and
    /// <paramref name="stdout"/>; returns its endpoint, or throws.</summary>
    public static int SpawnClient(Kernel.Kernel kernel, string image, string name, PrivilegeBlock priv, string[] argv,
                                  out StreamWriter stdin, out StreamReader stdout)
    {
        int ep = SpawnPiped(kernel, image, name, priv, argv, withStdin: true, out var w, out stdout);
        if (ep < 0) throw new InvalidOperationException($"cannot start the client: {Err.Name(ep)}");
        stdin = w!;
        return ep;
    }

    /// <summary>The client's next line on <paramref name="from"/>, which must start with
    /// <paramref name="what"/> ("" takes any) and come within <paramref name="timeoutS"/> seconds;
    /// otherwise throws as benchmark <paramref name="bench"/>, with the kernel's
    /// <paramref name="log"/>.</summary>
    public static string Expect(string bench, StreamReader from, string what, int timeoutS, StringWriter log)
    {
        var line = from.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(timeoutS)))
            throw new TimeoutException($"bench {bench}: no '{what}' from the client within {timeoutS} s\n{log}");
        string text = line.Result ?? throw new InvalidOperationException($"bench {bench}: the client ended early\n{log}");
        if (!text.StartsWith(what, StringComparison.Ordinal)) throw new InvalidOperationException($"bench {bench}: the client said '{text}'\n{log}");
        return text;
    }

    /// <summary>Spawns with pipes on stdout and, when asked, stdin; the child's ends are closed
    /// here once the kernel has handed them on. On failure the runner's ends are closed too.</summary>
    private static int SpawnPiped(Kernel.Kernel kernel, string image, string name, PrivilegeBlock priv, string[] argv, bool withStdin,
                                  out StreamWriter? stdin, out StreamReader stdout)
    {
        // Safe: both arrays are this frame's, and pipe2 writes exactly two ints into each.
        int* inPipe = stackalloc int[2] { -1, -1 };
        int* outPipe = stackalloc int[2];
        if (withStdin && Native.pipe2(inPipe, Native.O_CLOEXEC) != 0) throw new InvalidOperationException("pipe2 failed");
        if (Native.pipe2(outPipe, Native.O_CLOEXEC) != 0)
        {
            if (withStdin) { Native.close(inPipe[0]); Native.close(inPipe[1]); }
            throw new InvalidOperationException("pipe2 failed");
        }
        int ep = kernel.Spawn(new ProcessSpec { Name = name, Path = image, Args = argv, Privileges = priv, StdinFd = inPipe[0], StdoutFd = outPipe[1] });
        if (withStdin) Native.close(inPipe[0]);
        Native.close(outPipe[1]);
        stdin = withStdin ? new StreamWriter(Open(inPipe[1], FileAccess.Write)) { AutoFlush = true } : null;
        stdout = new StreamReader(Open(outPipe[0], FileAccess.Read), Encoding.UTF8);
        if (ep < 0)
        {
            stdin?.Dispose();
            stdout.Dispose();
        }
        return ep;
    }

    private static FileStream Open(int fd, FileAccess access) => new(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), access);

    /// <summary>A result's value as printed: a double in <paramref name="doubleFormat"/> when one
    /// is given, anything else (and every double without one) invariant.</summary>
    public static string Format(object value, string? doubleFormat) => value is double d && doubleFormat is not null
        ? d.ToString(doubleFormat, CultureInfo.InvariantCulture)
        : Convert.ToString(value, CultureInfo.InvariantCulture)!;

    /// <summary>The results as one JSON object on one line, or as rows `key value` with the key
    /// padded to <paramref name="keyWidth"/>; <paramref name="trimQuotes"/> drops the quotes of
    /// strings in the rows.</summary>
    public static void Print(bool json, IEnumerable<(string Key, object Value)> results, string? doubleFormat, int keyWidth, bool trimQuotes = false)
    {
        if (json)
        {
            Console.WriteLine("{" + string.Join(", ", results.Select(kv => $"\"{kv.Key}\": {Format(kv.Value, doubleFormat)}")) + "}");
            return;
        }
        foreach (var (key, value) in results)
        {
            string text = Format(value, doubleFormat);
            Console.WriteLine(key.PadRight(keyWidth) + " " + (trimQuotes ? text.Trim('"') : text));
        }
    }
}
