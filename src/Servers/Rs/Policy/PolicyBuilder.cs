// What the parser knows about one `driver LABEL { ... };` section while reading it: the
// grants collected so far and the line where each once-only key was first seen. Build()
// freezes it into a Policy. Lists of names are sets (a repeated name is harmless); device
// resources are checked for duplicates by the parser, which knows the lines.
namespace Bulkhead.Servers.Rs.Policy;

internal sealed class PolicyBuilder(string label, string file, int line)
{
    public string Label { get; } = label;
    public int Line { get; } = line;
    public Dictionary<string, int> Seen { get; } = [];
    public uint TrapMask;
    public bool AllTargets;
    public bool ServesUsers;
    public List<string> Targets { get; } = [];
    public SortedSet<int> KernelCalls { get; } = [];
    public List<string> Drivers { get; } = [];
    public List<AddressRange> IsaIo { get; } = [];
    public List<int> IsaIrqs { get; } = [];
    public List<PciDevice> PciDevices { get; } = [];
    public List<PciClass> PciClasses { get; } = [];

    public string What => $"driver '{Label}'";

    public Policy Build() => new()
    {
        Label = Label,
        File = file,
        Line = Line,
        TrapMask = TrapMask,
        AllTargets = AllTargets,
        ServesUsers = ServesUsers,
        Targets = Targets.ToArray(),
        KernelCalls = KernelCalls.ToArray(),
        Drivers = Drivers.ToArray(),
        IsaIo = IsaIo.ToArray(),
        IsaIrqs = IsaIrqs.ToArray(),
        PciDevices = PciDevices.ToArray(),
        PciClasses = PciClasses.ToArray(),
    };
}
