// The fault types of thesis Fig. 5.1, as SWIFI applies them to x86-64 machine code
// (docs/swifi.md has the table with the mapping and why).
namespace Bulkhead.Swifi;

public enum FaultType
{
    /// <summary>Flip one random bit of the selected instruction (hardware faults).</summary>
    Binary,
    /// <summary>Corrupt the address calculation of an instruction with a memory operand: its
    /// base, index or scale (what a corrupted ModR/M or SIB byte selects) or its displacement.</summary>
    Pointer,
    /// <summary>Corrupt the address calculation of an assignment's right-hand (memory) operand.</summary>
    Source,
    /// <summary>Corrupt the address calculation of an assignment's left-hand (memory) operand.</summary>
    Destination,
    /// <summary>Invert a condition (Jcc, CMOVcc, SETcc) or swap REPE and REPNE.</summary>
    Control,
    /// <summary>Delete the instruction that loads an argument register before a call.</summary>
    Parameter,
    /// <summary>Replace the selected instruction with NOPs.</summary>
    Omission,
    /// <summary>One of the seven above, chosen at random per fault.</summary>
    Random,
}

public static class FaultTypes
{
    /// <summary>The seven concrete types, in Fig. 5.1's order (Random picks among them).</summary>
    public static readonly FaultType[] Concrete =
        [FaultType.Binary, FaultType.Pointer, FaultType.Source, FaultType.Destination, FaultType.Control, FaultType.Parameter, FaultType.Omission];

    public static string Name(this FaultType t) => t.ToString().ToLowerInvariant();

    public static bool TryParse(string text, out FaultType type)
    {
        foreach (var t in Enum.GetValues<FaultType>())
            if (t.Name() == text) { type = t; return true; }
        type = default;
        return false;
    }
}
