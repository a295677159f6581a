// Request flags of the data store, with MINIX's values (DSF_*). The low byte carries the
// privacy and behaviour bits, the second byte the value type. Exactly one type bit is set in
// a publish, retrieve or delete; a subscribe may set several (or none: every type).
//   PRIVATE   only the owner (by label) may retrieve, and only the owner's own subscriptions
//             hear about the key. Without it the entry is PUBLIC (0).
//   OVERWRITE publishing an existing key replaces it (owner only); without it → EEXIST.
//   INITIAL   subscribe: existing matching keys are reported at once, as if just changed.
namespace Bulkhead.Lib.Ds;

public static class DsFlags
{
    public const int Public = 0x000;
    public const int PrivRetrieve = 0x002;
    public const int PrivOverwrite = 0x004;
    public const int PrivSubscribe = 0x008;
    /// <summary>All of PrivRetrieve, PrivOverwrite and PrivSubscribe (MINIX DSF_PRIVATE).</summary>
    public const int Private = PrivRetrieve | PrivOverwrite | PrivSubscribe;
    public const int Overwrite = 0x010;
    public const int Initial = 0x020;

    public const int TypeU32 = 0x0100;
    public const int TypeStr = 0x0200;
    public const int TypeMem = 0x0400;
    /// <summary>MINIX's live mapped region; not supported by Bulkhead (EINVAL). Use MEM with snapshots.</summary>
    public const int TypeMap = 0x0800;
    public const int TypeLabel = 0x1000;
    public const int MaskType = 0xFF00;
    public const int SupportedTypes = TypeU32 | TypeStr | TypeMem | TypeLabel;

    /// <summary>Every bit a request may carry.</summary>
    public const int AllRequestBits = Private | Overwrite | Initial | MaskType;

    /// <summary>True when exactly one supported type bit is set.</summary>
    public static bool IsSingleType(int type) => type is TypeU32 or TypeStr or TypeMem or TypeLabel;

    public static string TypeName(int type) => type switch
    {
        TypeU32 => "U32",
        TypeStr => "STR",
        TypeMem => "MEM",
        TypeMap => "MAP",
        TypeLabel => "LABEL",
        _ => $"type{type:x}",
    };

    public static int ParseType(string name) => name.ToUpperInvariant() switch
    {
        "U32" => TypeU32,
        "STR" => TypeStr,
        "MEM" => TypeMem,
        "MAP" => TypeMap,
        "LABEL" => TypeLabel,
        _ => 0,
    };
}
