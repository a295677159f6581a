// The boot configuration (etc/boot.conf): the kernel's parameters, the emulated devices and
// the ordered list of processes to start, each with its least-authority privileges (thesis §3.3, Fig. 3.7). Load
// or Parse reads the whole file and checks everything — names, numbers, traps, kernel calls,
// targets, slots — before returning, so a configuration that parses can be booted; every
// mistake is a BootConfigException "<file>:<line>: <reason>". The syntax is in docs/boot.md.
using Bulkhead.Lib.Config;

namespace Bulkhead.Kernel.Boot;

public sealed class BootConfig
{
    /// <summary>Slots below this are for fixed boot servers (MINIX fixed endpoints); the
    /// others are handed out in file order from here.</summary>
    public const int FirstDynamicSlot = 16;

    public string File { get; }
    public SystemSettings System { get; }
    public IReadOnlyList<BootProcess> Processes { get; }
    /// <summary>The `device` sections, in file order.</summary>
    public IReadOnlyList<BootDevice> Devices { get; }

    internal BootConfig(string file, SystemSettings system, IReadOnlyList<BootProcess> processes, IReadOnlyList<BootDevice>? devices = null)
    {
        Devices = devices ?? [];
        File = file;
        System = system;
        Processes = processes;
    }

    public static BootConfig Load(string path)
    {
        string text;
        try { text = global::System.IO.File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BootConfigException(path, 0, $"cannot read: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="file"/> names it in error messages.</summary>
    public static BootConfig Parse(string text, string file = "boot.conf") =>
        new BootParser(Tokenize(text, file), file).Parse();

    public BootProcess? Find(string name) => Processes.FirstOrDefault(p => p.Name == name);

    /// <summary>Kernel options for this configuration; the host adds what only it knows,
    /// including the machine (I/O ports, DMA memory, IOMMU) its devices are (or will be) plugged into.</summary>
    public KernelOptions ToKernelOptions(string? sysLogPath, IReadOnlyDictionary<string, string> environment, TextWriter? console = null,
                                         Bulkhead.Machine.Board? board = null, Host.Jail.JailOptions? confinement = null) => new()
    {
        Confinement = confinement ?? new Host.Jail.JailOptions(),
        Io = board?.Io,
        DmaMemory = board?.Memory,
        Iommu = board?.Iommu,
        ProcSlots = System.ProcSlots,
        FirstDynamicSlot = FirstDynamicSlot,
        DefaultArenaBytes = System.ArenaKiB * 1024L,
        CpuMask = System.CpuMask,
        QuantumNs = System.QuantumMs * 1_000_000L,
        SysLogPath = sysLogPath,
        Environment = environment,
        Console = console ?? global::System.Console.Out,
    };

    private static List<ConfigToken> Tokenize(string text, string file)
    {
        try { return ConfigLexer.Tokenize(text, strings: true); }
        catch (ConfigSyntaxException e) { throw new BootConfigException(file, e.Line, e.Reason); }
    }
}
