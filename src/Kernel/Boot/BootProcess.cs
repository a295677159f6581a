// One `process NAME { ... };` section of boot.conf: which binary to run, with which
// arguments, in which slot, under which privileges. The parser fills it in and resolves
// every name it can statically (IPC targets become slots); the host turns it into a
// ProcessSpec at spawn time, when "$name" arguments can be replaced by the endpoints of the
// processes started before this one, and "$ROOT" (alone or followed by '/') by the repository
// root, e.g. `args "$ROOT/etc/drivers.conf"`.
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Boot;

public enum ProgramKind
{
    /// <summary>A component of the multi-call binary bulkhead-image; the first argument names it.</summary>
    Image,
    /// <summary>Any executable that speaks the protocol, by path.</summary>
    Path,
}

public sealed class BootProcess
{
    /// <summary>File name of the multi-call component binary.</summary>
    public const string ImageBinary = "bulkhead-image";

    public required string Name { get; init; }
    /// <summary>Line of the `process` keyword, for messages.</summary>
    public int Line { get; init; }
    public ProgramKind Kind { get; internal set; }
    /// <summary>The component name (Image) or the binary path as written (Path).</summary>
    public string Program { get; internal set; } = "";
    /// <summary>Stands for the repository root (ToSpec's base directory) at the start of an argument.</summary>
    public const string RootVariable = "$ROOT";

    /// <summary>Arguments as written; an argument "$name" stands for the endpoint of an earlier
    /// boot process, "$ROOT" or "$ROOT/…" for a path under the repository root.</summary>
    public IReadOnlyList<string> Args { get; internal set; } = [];
    /// <summary>The slot this process gets: the fixed one from `slot`, or the next free one.</summary>
    public int Slot { get; internal set; } = -1;
    /// <summary>True when the slot was fixed in the configuration.</summary>
    public bool FixedSlot { get; internal set; }
    /// <summary>Arena size in KiB; 0 = the system default.</summary>
    public int ArenaKiB { get; internal set; }
    public PrivilegeBlock Privileges { get; internal set; }
    /// <summary>The host files it sees when confined (`files bare|host;`, docs/confinement.md).</summary>
    public Host.Jail.JailView Files { get; internal set; } = Host.Jail.JailView.Bare;
    /// <summary>`restart;`: RS manages it — PM is its parent of record, and RS has the kernel
    /// start it again from this entry when it dies (docs/rs.md, "Boot processes").</summary>
    public bool Restart { get; internal set; }

    /// <summary>The boot processes this one's arguments refer to ("$name"), in order.</summary>
    public IEnumerable<string> References => Args.Where(IsReference).Select(a => a[1..]);

    public static bool IsReference(string arg) => arg.Length > 1 && arg[0] == '$' && !IsRootPath(arg);

    /// <summary>True for "$ROOT" and "$ROOT/…".</summary>
    public static bool IsRootPath(string arg) =>
        arg.StartsWith(RootVariable, StringComparison.Ordinal) && (arg.Length == RootVariable.Length || arg[RootVariable.Length] == '/');

    /// <summary>Builds the kernel's spawn request. <paramref name="imageDirectory"/> holds
    /// bulkhead-image; relative paths are taken from <paramref name="baseDirectory"/>;
    /// <paramref name="endpointOf"/> maps an earlier boot process to its endpoint.</summary>
    public ProcessSpec ToSpec(string imageDirectory, string baseDirectory, Func<string, int> endpointOf)
    {
        var args = new List<string>(Args.Count + 1);
        string path;
        if (Kind == ProgramKind.Image)
        {
            path = System.IO.Path.Combine(imageDirectory, ImageBinary);
            args.Add(Program);
        }
        else
        {
            path = System.IO.Path.GetFullPath(Program, baseDirectory);
        }
        foreach (var a in Args)
        {
            if (IsRootPath(a))
            {
                string rest = a[RootVariable.Length..].TrimStart('/');
                args.Add(System.IO.Path.GetFullPath(rest.Length == 0 ? "." : rest, System.IO.Path.GetFullPath(baseDirectory)));
            }
            else args.Add(IsReference(a) ? endpointOf(a[1..]).ToString(System.Globalization.CultureInfo.InvariantCulture) : a);
        }
        return new ProcessSpec
        {
            Name = Name,
            Path = path,
            Args = args,
            Privileges = Privileges,
            Slot = Slot,
            ArenaBytes = ArenaKiB * 1024L,
            Files = Files,
            Restartable = Restart,
            Parent = Restart ? Lib.Ipc.Endpoint.Pm : Lib.Ipc.Endpoint.Kernel,
        };
    }
}
