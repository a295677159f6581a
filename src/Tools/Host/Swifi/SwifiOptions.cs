// The options of `bulkhead swifi inject` and `swifi run`, parsed and checked before anything
// runs; a bad value is an ArgumentException that names the option.
using System.Globalization;
using Bulkhead.Swifi;

namespace Bulkhead.Host.Swifi;

internal sealed class SwifiOptions
{
    public FaultType Type { get; } = FaultType.Random;
    public int Faults { get; } = 1;
    public int Trials { get; } = 100;
    public int Seed { get; } = 1;
    /// <summary>inject: the number of the first fault (faults are numbered from 0 in a campaign).</summary>
    public long First { get; }
    public string? Driver { get; }
    public string? Out { get; }
    /// <summary>A named set of campaigns (SwifiCampaign.Presets), or null.</summary>
    public string? Preset { get; }
    public bool TrialsGiven { get; }
    public bool FaultsGiven { get; }
    public bool TypeGiven { get; }

    public SwifiOptions(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"swifi: {args[i]} needs a value");
            int Number(int min, int max)
            {
                string name = args[i], v = Value();
                return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
                    ? n : throw new ArgumentException($"swifi: {name} takes a number from {min} to {max}, not '{v}'");
            }
            switch (args[i])
            {
                case "--type":
                    string t = Value();
                    Type = FaultTypes.TryParse(t, out var type) ? type : throw new ArgumentException($"swifi: unknown fault type '{t}'");
                    TypeGiven = true;
                    break;
                case "--faults": Faults = Number(1, 100_000); FaultsGiven = true; break;
                case "--trials": Trials = Number(1, 10_000_000); TrialsGiven = true; break;
                case "--seed": Seed = Number(0, int.MaxValue); break;
                case "--fault": First = Number(0, int.MaxValue); break;
                case "--driver":
                    Driver = Value();
                    if (!DriverText.Known.Contains(Driver)) throw new ArgumentException($"swifi: unknown driver '{Driver}' (known: {string.Join(", ", DriverText.Known)})");
                    break;
                case "--out": Out = Value(); break;
                case "--preset":
                    Preset = Value();
                    if (!SwifiCampaign.Presets.Contains(Preset)) throw new ArgumentException($"swifi: unknown preset '{Preset}' (known: {string.Join(", ", SwifiCampaign.Presets)})");
                    break;
                default: throw new ArgumentException($"swifi: unknown option '{args[i]}'");
            }
        }
    }
}
