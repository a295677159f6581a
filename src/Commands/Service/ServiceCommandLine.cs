// The service utility's command line (thesis §2.2, Fig. 2.4), parsed without side effects:
//   service up <binary> [-args "<args>"] [-label <name>] [-period <secs>] [-recovery <script>]
//                       [-mirror true|false] [-isolation <file>] [-dev <node>] [-policy <entry>] [-nobackoff]
//                       [-config <file>]
//   service down|refresh|restart <label>
//   service update <label> <binary> [same options as up, except -label]
//   service list
// Parse returns a ServiceCommandLine whose Error is null on success, else a one-line reason
// (a usage error: the caller prints Usage and exits 2). Rules: options may appear once each, in
// any order, after the binary; "-x" and "--x" are the same option; -config reads the file here
// (the service itself runs in the bare file view and cannot) and appends it to the arguments as
// one word (Bulkhead.Lib.Config.ConfigArgument); the label defaults to the
// binary's file name and must satisfy ServiceSpec.IsLabel; a binary "image:NAME" is the
// multi-call bulkhead-image with NAME as its first argument; relative paths (binary, recovery
// script, isolation file) are made absolute against the given working directory, because RS
// runs them from its own.
using System.Globalization;
using Bulkhead.Lib.Rs;

namespace Bulkhead.Commands.Service;

public enum ServiceVerb
{
    Up,
    Down,
    Refresh,
    Restart,
    Update,
    List,
}

public sealed class ServiceCommandLine
{
    /// <summary>Prefix of a binary that names a component of the multi-call bulkhead-image.</summary>
    public const string ImagePrefix = "image:";
    public const string ImageBinary = "bulkhead-image";
    /// <summary>Longest heartbeat period accepted, in seconds (RS's limit: one hour).</summary>
    public const int MaxPeriodSeconds = 3600;

    public const string Usage = """
        usage: service up <binary> [-args "<args>"] [-label <name>] [-period <secs>] [-recovery <script>]
                          [-mirror true|false] [-isolation <file>] [-dev <node>] [-policy <entry>] [-nobackoff]
                          [-config <file>]
               service down <label>        stop a service for good
               service refresh <label>     restart it as if it had failed (reason "restart")
               service restart <label>     restart it now (recovery scripts use this)
               service update <label> <binary> [-args "<args>"] [-period ...] ...   dynamic update
               service list                RS's service table
        <binary> is a path, or image:NAME for component NAME of bulkhead-image. The label defaults
        to the binary's file name; -period is the heartbeat period in seconds (default 5, 0 for
        none); -recovery "<script> [params]" runs /bin/sh <script> <label> <reason> <count> [params]
        instead of a direct restart, and the script decides what repeated failures mean;
        -isolation names a drivers.conf-style policy file (default RS's), -policy its entry
        (default the label); -config passes a configuration file to a service that cannot read
        files (INET's etc/inet.conf), as one argument word.
        """;

    private static readonly string[] OptionNames =
        ["args", "label", "period", "recovery", "mirror", "isolation", "dev", "policy", "nobackoff", "config"];

    public ServiceVerb Verb { get; private init; }
    /// <summary>Up and Update: what RS is asked to run.</summary>
    public ServiceSpec? Spec { get; private init; }
    /// <summary>Every verb but List: the service's label.</summary>
    public string Label { get; private init; } = "";
    /// <summary>Null when the command line is valid, else why not.</summary>
    public string? Error { get; private init; }

    public bool Ok => Error is null;

    private static ServiceCommandLine Fail(string error) => new() { Error = error };

    /// <summary>The directory of the running bulkhead-image (where image:NAME binaries are).</summary>
    public static string DefaultImageDirectory =>
        Path.GetDirectoryName(Environment.ProcessPath) is { Length: > 0 } d && File.Exists(Path.Combine(d, ImageBinary))
            ? d
            : AppContext.BaseDirectory;

    /// <summary>Parses the arguments after "service". <paramref name="imageDirectory"/> holds
    /// bulkhead-image (default: DefaultImageDirectory); <paramref name="workingDirectory"/>
    /// anchors relative paths (default: the current directory).</summary>
    public static ServiceCommandLine Parse(IReadOnlyList<string> args, string? imageDirectory = null, string? workingDirectory = null)
    {
        if (args.Count == 0) return Fail("no command");
        string cwd = workingDirectory ?? Environment.CurrentDirectory;
        string verb = args[0];
        switch (verb)
        {
            case "list":
                return args.Count == 1 ? new ServiceCommandLine { Verb = ServiceVerb.List } : Fail("'list' takes no arguments");
            case "down" or "refresh" or "restart":
                if (args.Count != 2) return Fail($"'{verb}' takes exactly one label");
                if (!ServiceSpec.IsLabel(args[1])) return Fail(BadLabel(args[1]));
                return new ServiceCommandLine
                {
                    Verb = verb switch { "down" => ServiceVerb.Down, "refresh" => ServiceVerb.Refresh, _ => ServiceVerb.Restart },
                    Label = args[1],
                };
            case "up":
                if (args.Count < 2 || IsOption(args[1])) return Fail("'up' needs a binary");
                return ParseSpec(ServiceVerb.Up, null, args[1], args.Skip(2).ToList(), imageDirectory, cwd);
            case "update":
                if (args.Count < 3 || IsOption(args[1]) || IsOption(args[2])) return Fail("'update' needs a label and a binary");
                if (!ServiceSpec.IsLabel(args[1])) return Fail(BadLabel(args[1]));
                return ParseSpec(ServiceVerb.Update, args[1], args[2], args.Skip(3).ToList(), imageDirectory, cwd);
            default:
                return Fail($"unknown command '{verb}' (up, down, refresh, restart, update, list)");
        }
    }

    private static bool IsOption(string a) => a.Length > 1 && a[0] == '-';

    private static string BadLabel(string label) => $"bad label '{label}' (1..15 characters of [A-Za-z0-9_.-])";

    private static ServiceCommandLine ParseSpec(ServiceVerb verb, string? label, string binary, List<string> rest, string? imageDirectory, string cwd)
    {
        if (binary.Length == 0) return Fail("empty binary name");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < rest.Count; i++)
        {
            string a = rest[i];
            if (!IsOption(a)) return Fail($"unexpected argument '{a}'");
            string name = a.StartsWith("--", StringComparison.Ordinal) ? a[2..] : a[1..];
            if (!OptionNames.Contains(name)) return Fail($"unknown option '{a}'");
            if (name == "label" && verb == ServiceVerb.Update) return Fail("'update' takes the label before the binary, not -label");
            if (values.ContainsKey(name)) return Fail($"option '-{name}' given twice");
            if (name == "nobackoff")
            {
                values[name] = "1";
                continue;
            }
            if (i + 1 >= rest.Count) return Fail($"option '-{name}' needs a value");
            values[name] = rest[++i];
        }

        var spec = new ServiceSpec();
        string args = values.GetValueOrDefault("args", "").Trim();
        if (values.TryGetValue("config", out string? config))
        {
            if (config.Length == 0) return Fail("empty -config file");
            string path = Path.GetFullPath(config, cwd);
            string text;
            try { text = File.ReadAllText(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Fail($"-config {path}: cannot read: {e.Message}"); }
            if (!Bulkhead.Lib.Config.ConfigArgument.TryEncode(Path.GetFileName(path), text, out string word, out string why)) return Fail("-config " + why);
            args = args.Length > 0 ? args + " " + word : word;
        }
        if (binary.StartsWith(ImagePrefix, StringComparison.Ordinal))
        {
            string component = binary[ImagePrefix.Length..];
            if (component.Length == 0 || component.Any(char.IsWhiteSpace)) return Fail($"bad image component '{binary}'");
            spec.Binary = Path.Combine(imageDirectory ?? DefaultImageDirectory, ImageBinary);
            spec.Args = args.Length > 0 ? component + " " + args : component;
            label ??= values.GetValueOrDefault("label", component);
        }
        else
        {
            spec.Binary = Path.GetFullPath(binary, cwd);
            spec.Args = args;
            label ??= values.GetValueOrDefault("label", Path.GetFileName(binary.TrimEnd('/')));
        }
        if (!ServiceSpec.IsLabel(label)) return Fail(BadLabel(label));
        spec.Label = label;

        if (values.TryGetValue("period", out string? period))
        {
            if (!double.TryParse(period, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double secs) ||
                secs < 0 || secs > MaxPeriodSeconds || (secs > 0 && (int)Math.Round(secs * 1000) <= 0))
                return Fail($"bad period '{period}' (seconds, 0 for no heartbeats, at most {MaxPeriodSeconds})");
            spec.PeriodMs = secs == 0 ? ServiceSpec.NoHeartbeats : (int)Math.Round(secs * 1000);
        }
        if (values.TryGetValue("mirror", out string? mirror))
        {
            if (mirror is not ("true" or "false")) return Fail($"bad -mirror value '{mirror}' (true or false)");
            spec.Mirror = mirror == "true";
        }
        if (values.TryGetValue("recovery", out string? recovery))
        {
            // "-recovery 'SCRIPT -a x'": the words after the script are its parameters, passed
            // after label, reason and count (thesis §4.2.1).
            var words = recovery.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) return Fail("empty -recovery script");
            spec.Recovery = string.Join(' ', [Path.GetFullPath(words[0], cwd), .. words.Skip(1)]);
        }
        if (values.TryGetValue("isolation", out string? isolation))
        {
            if (isolation.Length == 0) return Fail("empty -isolation file");
            spec.Isolation = Path.GetFullPath(isolation, cwd);
        }
        if (values.TryGetValue("policy", out string? policy))
        {
            if (!ServiceSpec.IsLabel(policy)) return Fail($"bad policy entry '{policy}'");
            spec.Policy = policy;
        }
        if (values.TryGetValue("dev", out string? dev))
        {
            if (dev.Length == 0) return Fail("empty -dev node");
            spec.Dev = dev;
        }
        spec.NoBackoff = values.ContainsKey("nobackoff");
        foreach (var (k, v) in values)
            if (v.Contains('\n') || v.Contains('\r')) return Fail($"option '-{k}' may not contain a line break");
        if (binary.Contains('\n') || binary.Contains('\r')) return Fail("the binary name may not contain a line break");

        return new ServiceCommandLine { Verb = verb, Spec = spec, Label = label };
    }

    /// <summary>The arguments with relative paths (binary, -recovery, -isolation) made absolute
    /// against <paramref name="workingDirectory"/>, everything else unchanged: the host uses it
    /// before handing a command line to an instance whose working directory differs.</summary>
    public static string[] WithAbsolutePaths(IReadOnlyList<string> args, string workingDirectory)
    {
        var result = args.ToArray();
        if (result.Length == 0) return result;
        int binaryAt = result[0] switch { "up" => 1, "update" => 2, _ => -1 };
        if (binaryAt < 0) return result;
        if (binaryAt < result.Length && !IsOption(result[binaryAt]) && result[binaryAt].Length > 0 &&
            !result[binaryAt].StartsWith(ImagePrefix, StringComparison.Ordinal))
            result[binaryAt] = Path.GetFullPath(result[binaryAt], workingDirectory);
        for (int i = binaryAt + 1; i + 1 < result.Length; i++)
        {
            if (result[i] is "-recovery" or "--recovery" or "-isolation" or "--isolation" or "-config" or "--config" && result[i + 1].Length > 0)
                result[i + 1] = Path.GetFullPath(result[i + 1], workingDirectory);
            if (IsOption(result[i]) && result[i] is not ("-nobackoff" or "--nobackoff")) i++; // skip the value
        }
        return result;
    }
}
