// Kernel call numbers (system task, thesis Fig. 3.3). A kernel call is a SENDREC to SYSTEM
// whose m_type is KernelCallBase + number; each number is one bit of a process's kernel-call
// mask. Numbers follow MINIX where MINIX has the call; Bulkhead's own calls start at 60.
// Append-only.
namespace Bulkhead.Lib.Sys;

public static class KernelCall
{
    public const int Base = 0x600;
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

    public static string Name(int call) => call switch
    {
        Kill => "KILL",
        GetKsig => "GETKSIG",
        PrivCtl => "PRIVCTL",
        IrqCtl => "IRQCTL",
        DevIo => "DEVIO",
        VDevIo => "VDEVIO",
        SetAlarm => "SETALARM",
        Times => "TIMES",
        GetInfo => "GETINFO",
        SafeCopyFrom => "SAFECOPYFROM",
        SafeCopyTo => "SAFECOPYTO",
        VSafeCopy => "VSAFECOPY",
        SetGrant => "SETGRANT",
        SysCtl => "SYSCTL",
        Spawn => "SPAWN",
        MapDma => "MAPDMA",
        Image => "IMAGE",
        Umap => "UMAP",
        _ => $"call{call}",
    };

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
        for (int c = 0; c < Count; c++)
            if (string.Equals(Name(c), name, StringComparison.OrdinalIgnoreCase) && !Name(c).StartsWith("call", StringComparison.Ordinal))
            {
                calls = [c];
                return true;
            }
        return false;
    }
}
