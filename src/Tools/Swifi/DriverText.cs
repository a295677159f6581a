// The text SWIFI injects into: the functions of one driver in the NativeAOT image (thesis
// §5.1.1, "the driver's text segment"). A MINIX driver's text is its own code plus the libraries
// linked into it (libdriver, libsys); here that is the driver's namespace, its class library
// (NetDriver, BlockDriver) and the parts of Bulkhead.Lib a driver calls (IPC, kernel calls,
// grants, DS, RS, PCI, IOMMU, the server loop). The .NET runtime (GC, type system, exception
// dispatch) is left out: it is not driver code, as MINIX's kernel and libc-free servers were not.
// A random byte offset picks the function (larger functions are hit more often, as offsets into
// a text segment are); Locate maps an offset in [0, Bytes) to a function and an offset in it.
namespace Bulkhead.Swifi;

public sealed class DriverText
{
    private const string Lib = "Bulkhead_Lib_Bulkhead_Lib_";
    private static readonly string[] Support =
        [Lib + "Ipc_", Lib + "Sys_", Lib + "Grants_", Lib + "Ds_", Lib + "Rs_", Lib + "Pci_", Lib + "Iommu_", Lib + "Server_"];

    /// <summary>The symbol prefixes of each driver SWIFI knows: its own code and its class library.</summary>
    private static readonly Dictionary<string, string[]> Drivers = new(StringComparer.Ordinal)
    {
        ["rtl8139"] = ["Bulkhead_Drivers_Bulkhead_Drivers_Net_Rtl8139_", "Bulkhead_Drivers_Bulkhead_Drivers_Net_NetDriver"],
        ["dp8390"] = ["Bulkhead_Drivers_Bulkhead_Drivers_Net_Dp8390_", "Bulkhead_Drivers_Bulkhead_Drivers_Net_NetDriver"],
        ["at_wini"] = ["Bulkhead_Drivers_Bulkhead_Drivers_Block_AtWini_", "Bulkhead_Drivers_Bulkhead_Drivers_Block_BlockDriver",
                       "Bulkhead_Drivers_Bulkhead_Drivers_Block_MbrTable", "Bulkhead_Lib_Bulkhead_Lib_Block_BlockRe"],
    };

    public static IEnumerable<string> Known => Drivers.Keys;

    public string Driver { get; }
    public IReadOnlyList<ElfFunction> Functions { get; }
    /// <summary>The text's size: the sum of the functions' sizes.</summary>
    public long Bytes { get; }
    private readonly long[] _starts;

    private DriverText(string driver, List<ElfFunction> functions)
    {
        Driver = driver;
        Functions = functions;
        _starts = new long[functions.Count];
        long at = 0;
        for (int i = 0; i < functions.Count; i++) { _starts[i] = at; at += (long)functions[i].Size; }
        Bytes = at;
    }

    /// <summary>The text of <paramref name="driver"/> in <paramref name="image"/>; an error names
    /// the known drivers, or says that the image has none of the driver's functions.</summary>
    public static DriverText For(ElfImage image, string driver)
    {
        if (!Drivers.TryGetValue(driver, out var own))
            throw new ArgumentException($"swifi: no text known for driver '{driver}' (known: {string.Join(", ", Drivers.Keys)})");
        var functions = image.Functions.Where(f => own.Any(p => f.Name.StartsWith(p, StringComparison.Ordinal))).ToList();
        if (functions.Count == 0)
            throw new InvalidDataException($"{image.Path}: no functions of driver '{driver}' (is it a NativeAOT image with symbols?)");
        return Of(image, driver, [.. own, .. Support]);
    }

    /// <summary>The functions of <paramref name="image"/> whose names start with one of
    /// <paramref name="prefixes"/>, as the text named <paramref name="name"/>.</summary>
    public static DriverText Of(ElfImage image, string name, string[] prefixes)
    {
        var functions = image.Functions.Where(f => prefixes.Any(p => f.Name.StartsWith(p, StringComparison.Ordinal))).ToList();
        if (functions.Count == 0) throw new InvalidDataException($"{image.Path}: no functions named {string.Join(", ", prefixes)}*");
        return new DriverText(name, functions);
    }

    /// <summary>The function that holds text offset <paramref name="offset"/> (0 ≤ offset &lt; Bytes) and the offset in it.</summary>
    public (int Index, ulong Offset) Locate(long offset)
    {
        if (offset < 0 || offset >= Bytes) throw new ArgumentOutOfRangeException(nameof(offset));
        int i = Array.BinarySearch(_starts, offset);
        if (i < 0) i = ~i - 1;
        return (i, (ulong)(offset - _starts[i]));
    }
}
