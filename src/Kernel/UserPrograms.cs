// User programs (MINIX's USR_T processes): the commands a user runs inside Bulkhead
// (`./bulkhead run`), started by the kernel with the least authority a program has — SENDREC
// only, to DS (which may answer anyone) and to the servers whose policy says `ipc targets
// USERS` (PrivilegeBlock.UserProgram/ServesUsers: INET for sockets, VFS for files); kernel calls SETGRANT (its
// buffers for those servers), SYSCTL (diagnostics) and TIMES. No driver, no RS, no PM request:
// what a program does to the system it does through servers that check it. It runs confined in
// the bare file view like every component (docs/confinement.md); its stdin, stdout and stderr
// are the descriptors of whoever ran it.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel;

public static class UserPrograms
{
    /// <summary>The components of bulkhead-image that are user programs.</summary>
    public static readonly IReadOnlyList<string> Commands = ["ping", "daytime", "daytimed", "wget", "nc", "netstat",
        "ls", "cat", "cp", "mv", "rm", "mkdir", "stat", "df", "mount", "umount", "mkfs", "sync", "dd", "sha1sum"];

    /// <summary>Benchmark components that `bench disk` and `bench filter` run as user programs
    /// (src/Tools/Bench): runnable with `run`, left out of the commands a user is shown.</summary>
    public static readonly IReadOnlyList<string> BenchPrograms = ["bench-fscalls", "bench-tree"];

    public static bool IsProgram(string name) => Commands.Contains(name) || BenchPrograms.Contains(name);

    public static PrivilegeBlock Privileges()
    {
        var priv = new PrivilegeBlock { TrapMask = Trap.Bit(Trap.SendRec), Flags = PrivilegeBlock.UserProgram };
        priv.AllowCall(KernelCall.SetGrant);
        priv.AllowCall(KernelCall.SysCtl);
        priv.AllowCall(KernelCall.Times);
        priv.AddTarget(Endpoint.Ds);
        return priv;
    }
}
