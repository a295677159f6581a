// What `boot` checks of a boot configuration before it starts anything, beyond what
// BootConfig.Load checks of the file alone: that it would boot a system at all. A
// configuration must start at least one process, and each `program image NAME` must be a
// component of the bulkhead-image this instance runs (ImageComponents asks the binary, so the
// list is its dispatch table) — otherwise the process would start, print its usage and die,
// and the boot would look fine. Refusals are BootConfigException "<file>:<line>: <reason>";
// line 0 means the file as a whole.
using Bulkhead.Kernel.Boot;

namespace Bulkhead.Kernel.Main.Boot;

internal static class BootCheck
{
    /// <summary>Throws when <paramref name="conf"/> starts no process or names a component
    /// <paramref name="components"/> (called only if some process is an image component)
    /// does not list; <paramref name="components"/> returns null with a reason when it cannot
    /// tell.</summary>
    public static void Check(BootConfig conf, Func<(IReadOnlyList<string>? Names, string Error)> components)
    {
        if (conf.Processes.Count == 0)
            throw new BootConfigException(conf.File, 0, "no process to start: a boot configuration needs at least one 'process' section " +
                                                        "(etc/boot.conf starts pm, ds, rs, init, …); without one the system would boot with no processes");
        IReadOnlyList<string>? have = null;
        foreach (var p in conf.Processes)
        {
            if (p.Kind != ProgramKind.Image) continue;
            if (have is null)
            {
                var (names, error) = components();
                have = names ?? throw new BootConfigException(conf.File, p.Line, $"cannot tell whether {BootProcess.ImageBinary} has component {p.Program}: {error}");
            }
            if (!have.Contains(p.Program, StringComparer.Ordinal))
                throw new BootConfigException(conf.File, p.Line, $"no component {p.Program} in {BootProcess.ImageBinary} (have: {string.Join(", ", have)})");
        }
    }

    /// <summary>Check against the bulkhead-image in <paramref name="imageDirectory"/>.</summary>
    public static void Check(BootConfig conf, string imageDirectory) => Check(conf, () =>
    {
        var names = ImageComponents.TryList(Path.Combine(imageDirectory, BootProcess.ImageBinary), out string error);
        return (names, error);
    });
}
