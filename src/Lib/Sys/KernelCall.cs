// Kernel call numbers (system task, thesis Fig. 3.3). A kernel call is a SENDREC to SYSTEM
// whose m_type is KernelCall.Base + number; each number is one bit of a process's kernel-call
// mask. Numbers follow MINIX where MINIX has the call; Bulkhead's own calls start at 60.
// Append-only. A call is declared here once, as a number and a row of the table below (its
// name); the kernel's SystemTask pairs each row with its handler.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Sys;

public static class KernelCall
{
    public const int Base = Protocols.Kernel;
    public const int Count = 128;

    public const int Kill = 6;
    public const int GetKsig = 7;
    public const int PrivCtl = 4;
    public const int IrqCtl = 19;
    public const int DevIo = 21;
    public const int VDevIo = 23;
    public const int SetAlarm = 24;
    public const int Times = 25;
    public const int GetInfo = 26;
    public const int SafeCopyFrom = 31;
    public const int SafeCopyTo = 32;
    public const int VSafeCopy = 33;
    public const int SetGrant = 34;
    public const int SysCtl = 44;
    public const int Spawn = 60;
    public const int MapDma = 61;
    public const int Image = 62;
    public const int Umap = 14;

    /// <summary>Every kernel call, with its name in policies and logs: the one table of the calls
    /// the kernel has. The kernel's dispatch table (src/Kernel/System/SystemTask.cs) pairs each
    /// of these numbers with a handler and throws when building if it has one more or one less,
    /// so a call cannot be named without being performed or performed without a name (a test
    /// builds it). Append a row with each new call.</summary>
    private static readonly (int Call, string Name)[] s_table =
    [
        (PrivCtl, "PRIVCTL"),
        (Kill, "KILL"),
        (GetKsig, "GETKSIG"),
        (Umap, "UMAP"),
        (IrqCtl, "IRQCTL"),
        (DevIo, "DEVIO"),
        (VDevIo, "VDEVIO"),
        (SetAlarm, "SETALARM"),
        (Times, "TIMES"),
        (GetInfo, "GETINFO"),
        (SafeCopyFrom, "SAFECOPYFROM"),
        (SafeCopyTo, "SAFECOPYTO"),
        (VSafeCopy, "VSAFECOPY"),
        (SetGrant, "SETGRANT"),
        (SysCtl, "SYSCTL"),
        (Spawn, "SPAWN"),
        (MapDma, "MAPDMA"),
        (Image, "IMAGE"),
    ];

    /// <summary>s_table indexed by number; null where no call has the number.</summary>
    private static readonly string?[] s_names = IndexByNumber();

    /// <summary>The numbers of every kernel call, in ascending order.</summary>
    public static IEnumerable<int> All => Enumerable.Range(0, Count).Where(IsDefined);

    public static bool IsDefined(int call) => call is >= 0 and < Count && s_names[call] is not null;

    public static string Name(int call) => IsDefined(call) ? s_names[call]! : $"call{call}";

    private static string?[] IndexByNumber()
    {
        var names = new string?[Count];
        foreach (var (call, name) in s_table)
        {
            if (call is < 0 or >= Count || names[call] is not null || Array.IndexOf(names, name) >= 0)
                throw new InvalidOperationException($"kernel-call table: {name} ({call}) is out of range or not unique");
            names[call] = name;
        }
        return names;
    }

    /// <summary>Parses a policy name; SAFECOPY means both directions and the vector form.
    /// Returns false for a name the kernel does not know.</summary>
    public static bool TryParse(string name, out int[] calls)
    {
        calls = name.ToUpperInvariant() switch
        {
            "SAFECOPY" => [SafeCopyFrom, SafeCopyTo, VSafeCopy],
            "DEVIO" => [DevIo],
            "VDEVIO" => [VDevIo, DevIo],
            _ => [],
        };
        if (calls.Length > 0) return true;
        foreach (var (call, known) in s_table)
            if (string.Equals(known, name, StringComparison.OrdinalIgnoreCase))
            {
                calls = [call];
                return true;
            }
        return false;
    }
}
