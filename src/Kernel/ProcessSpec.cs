// What it takes to start a process: a name, a binary (a path or an in-memory image), argv,
// the privileges installed before it runs, and its parent of record.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public sealed record ProcessSpec
{
    public required string Name { get; init; }
    public string Path { get; init; } = "";
    /// <summary>When set, the binary is executed from this copy in memory, not from Path.</summary>
    public byte[]? Image { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    public PrivilegeBlock Privileges { get; init; }
    /// <summary>A fixed slot (boot servers), or -1 for the next free slot round robin.</summary>
    public int Slot { get; init; } = -1;
    public int Parent { get; init; } = Endpoint.Kernel;
    /// <summary>A boot process RS manages (boot.conf `restart;`): its parent of record may start
    /// it again from this spec (SPAWN Boot) after it died, in the same slot with the same
    /// endpoint, so everyone who knows it by its fixed endpoint reaches the new instance.</summary>
    public bool Restartable { get; init; }
    public long ArenaBytes { get; init; }
    /// <summary>The host files a confined process sees (docs/confinement.md).</summary>
    public Host.Jail.JailView Files { get; init; } = Host.Jail.JailView.Bare;
    /// <summary>Host-side plumbing for tests and the console: descriptors for the process's
    /// stdin and stdout/stderr (-1: /dev/null-free inheritance of the kernel's).</summary>
    public int StdinFd { get; init; } = -1;
    public int StdoutFd { get; init; } = -1;
    /// <summary>The process's stderr (-1: the same as its stdout).</summary>
    public int StderrFd { get; init; } = -1;
}
