// A campaign's results as JSON lines (docs/swifi.md, "Results"): one CampaignRecord, then one
// TrialRecord per trial, then a SummaryRecord when the campaign ended (not after a crash of the
// campaign itself). `swifi report` reads them back; every field a table needs is here, and
// every fault is recorded with what reproduces it (the campaign's seed, and the function, offset
// and bytes of the mutation).
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bulkhead.Host.Swifi;

internal sealed record CampaignRecord(
    string Campaign, string Driver, string Type, int Trials, int FaultsPerTrial, int Seed,
    long TextBytes, int Functions, string Image, string Started, List<string> DenialCategories);

/// <summary>One fault: its number in the campaign (replayed by `swifi inject --seed S --fault N`),
/// its concrete type, where (function and offset), and the bytes and code before and after.</summary>
internal sealed record FaultRecord(long N, string Type, string Function, string Offset, string Old, string New, string Before, string After);

/// <summary>One trial: the faults injected into driver process <c>Pid</c>; whether the workload
/// then worked (and how long it took); whether RS restarted the driver and why (RS's cause); whether the workload worked
/// again afterwards (and how long that took); the denied accesses counted meanwhile, by Fig. 5.5
/// category; faults injected into this driver instance up to and including this trial; and,
/// when anything but the driver failed, what (a propagation).</summary>
internal sealed record TrialRecord(
    int Trial, string Type, int Pid, List<FaultRecord> Faults, int FaultsThisInstance,
    bool WorkloadOk, string? WorkloadError, bool Restarted, string? Reason, bool Recovered, double? RecoveryMs,
    bool Forced, Dictionary<string, long> Denials, string? Propagation, double WorkloadMs = 0);

/// <summary>The campaign's end: its totals, whether it ran every trial (false: it stopped because
/// the system was broken beyond the driver), and what the testbed counted ("restart CAUSE": RS's
/// restarts of the target by cause; at_wini's testbed: the filter's status and the driver's own
/// messages by kind, Fig. 5.9).</summary>
internal sealed record SummaryRecord(
    int TrialsRun, long FaultsInjected, int RestartedTrials, int DisruptedTrials, int ForcedTrials, int Propagations,
    double Seconds, bool Completed, Dictionary<string, long> Counters);

internal static class SwifiJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Line<T>(T record) => JsonSerializer.Serialize(record, Options);

    /// <summary>The campaign header, the trials and the summary (null when the campaign did not
    /// end) of a results file; an error names the file and line.</summary>
    public static (CampaignRecord Campaign, List<TrialRecord> Trials, SummaryRecord? Summary) Read(string path)
    {
        CampaignRecord? campaign = null;
        SummaryRecord? summary = null;
        var trials = new List<TrialRecord>();
        int n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (line.Length == 0) continue;
            if (summary is not null) throw new InvalidDataException($"{path}:{n}: a line after the campaign's summary");
            string what = campaign is null ? "campaign" : "trial";
            try
            {
                if (campaign is null) campaign = JsonSerializer.Deserialize<CampaignRecord>(line, Options) ?? throw new JsonException("null");
                else if (line.Contains("\"trials_run\":", StringComparison.Ordinal))
                {
                    what = "summary";
                    summary = JsonSerializer.Deserialize<SummaryRecord>(line, Options) ?? throw new JsonException("null");
                }
                else trials.Add(JsonSerializer.Deserialize<TrialRecord>(line, Options) ?? throw new JsonException("null"));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{n}: not a SWIFI {what} record: {e.Message}");
            }
        }
        return (campaign ?? throw new InvalidDataException($"{path}: empty (no campaign record)"), trials, summary);
    }
}
