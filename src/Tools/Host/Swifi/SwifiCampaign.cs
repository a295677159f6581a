// `bulkhead swifi run` (thesis §5.1.1–5.1.3; docs/swifi.md): a seeded SWIFI campaign against one
// driver of a booted instance, its testbed (ISwifiTestbed): a network driver under TCP requests
// (SwifiNetTestbed), or at_wini on a second disk behind the filter driver under file writes and
// reads (SwifiBlockTestbed).
// Each trial, as §5.1.1 describes: inject --faults faults into the running driver (Injector),
// run the workload, then look: did RS restart the driver, and why (its restart line); did the
// workload work, or work again once the driver was back; which accesses were denied meanwhile
// (the kernel's Fig. 5.5 table); and is everything else as it was (every other service still the
// same process, running). Anything else is a propagation and is recorded with the trial's
// faults. A driver that fails the workload without RS noticing within the testbed's CatchS is
// disrupted (§5.1.2): like the thesis, the campaign goes on injecting into it, and after
// MaxDisruptedTrials such trials in a row (or at the last trial) kills it itself (recorded as
// forced: "not caught"), so a campaign always goes on. Results go to --out (default
// results/swifi-DRIVER-TYPE-SEED.jsonl): the campaign, its trials, and a summary with what the
// testbed counted (RS's restarts by cause; for at_wini the filter's status and the driver's own
// messages, Fig. 5.9).
// Rules: fault number n (trial t's are (t-1)·M … t·M-1) is decided by the seed and n alone, and
// by the current code of the driver instance it lands in (Injector.FaultSeed).
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Bulkhead.Host.Bench;
using Bulkhead.Host.Commands;
using Bulkhead.Lib.Control;
using Bulkhead.Swifi;

namespace Bulkhead.Host.Swifi;

internal static partial class SwifiCampaign
{
    /// <summary>Disrupted trials in a row after which the campaign kills the driver itself.</summary>
    private const int MaxDisruptedTrials = 5;
    /// <summary>Every this many trials RS's `ps` is asked even when nothing looks changed.</summary>
    private const int FullCheckEvery = 20;

    /// <summary>The thesis's §5.1.2 stress test: every fault type of Fig. 5.3 on both network
    /// drivers, 1000 trials of 100 faults each (16 series, 1.6 M faults; a second pass with
    /// another --seed makes 3.2 M), results under results/thesis-5.1.2/.</summary>
    public const string ThesisPreset = "thesis-5.1.2";

    /// <summary>The thesis's §5.1.3 block-driver runs (Fig. 5.9): seven campaigns of 40 trials ×
    /// 25 random faults against at_wini behind the filter, results under results/thesis-5.1.3/.</summary>
    public const string BlockPreset = "thesis-5.1.3";

    public static readonly string[] Presets = [ThesisPreset, BlockPreset];

    public static int Run(string root, SwifiOptions o)
    {
        if (o.Preset is null) return RunOne(root, o);
        if (o.Driver is not null || o.TypeGiven || o.Out is not null)
            throw new ArgumentException($"swifi run: --preset {o.Preset} sets --driver, --type and --out itself");
        string dir = Path.Combine(root, "results", o.Preset);
        int status = 0, series = 0;
        var runs = o.Preset == BlockPreset
            ? Enumerable.Range(1, 7).Select(_ => (Driver: "at_wini", Type: "random", Trials: 40, Faults: 25))
            : from driver in new[] { "dp8390", "rtl8139" }
              from type in new[] { "source", "destination", "pointer", "parameter", "control", "binary", "omission", "random" }
              select (Driver: driver, Type: type, Trials: 1000, Faults: 100);
        foreach (var run in runs)
        {
            int seed = (int)((o.Seed * 100L + series++) & int.MaxValue);
            string name = o.Preset == BlockPreset ? $"swifi-{run.Driver}-T{series}-{o.Seed}.jsonl" : $"swifi-{run.Driver}-{run.Type}-{o.Seed}.jsonl";
            string[] args = ["--driver", run.Driver, "--type", run.Type, "--trials", $"{(o.TrialsGiven ? o.Trials : run.Trials)}",
                             "--faults", $"{(o.FaultsGiven ? o.Faults : run.Faults)}", "--seed", $"{seed}", "--out", Path.Combine(dir, name)];
            status = Math.Max(status, RunOne(root, new SwifiOptions(args)));
        }
        Console.WriteLine($"swifi: {series} series done; ./bulkhead swifi report {dir} prints the tables");
        return status;
    }

    private static int RunOne(string root, SwifiOptions o)
    {
        string driver = o.Driver ?? throw new ArgumentException("swifi run: --driver (or --preset) is required");
        if (driver is not ("dp8390" or "rtl8139" or "at_wini"))
            throw new ArgumentException($"swifi run: campaigns run against the network drivers (dp8390, rtl8139) and at_wini, not {driver}; `swifi inject` reaches any driver SWIFI knows");
        if (!BenchHost.TryImage("swifi", out root, out string image)) return 1;
        string output = o.Out ?? Path.Combine(root, "results", $"swifi-{driver}-{o.Type.Name()}-{o.Seed}.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);

        using ISwifiTestbed bed = driver == "at_wini" ? new SwifiBlockTestbed(root, image, o.Seed) : new SwifiNetTestbed(root, image, driver);
        var campaign = new Campaign(bed, o);
        using var results = new StreamWriter(output);
        results.WriteLine(SwifiJson.Line(new CampaignRecord("swifi", driver, o.Type.Name(), o.Trials, o.Faults, o.Seed,
            campaign.TextBytes, campaign.Functions, image, DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture), campaign.DenialCategories)));
        Console.Error.WriteLine($"swifi: {driver} ({campaign.Functions} functions, {campaign.TextBytes} bytes of text), " +
                                $"{o.Trials} trials × {o.Faults} {o.Type.Name()} faults, seed {o.Seed} → {output}");
        var sw = Stopwatch.StartNew();
        int restarts = 0, disrupted = 0, propagations = 0, forced = 0, trials = 0;
        long faults = 0;
        for (int t = 1; t <= o.Trials; t++)
        {
            var trial = campaign.Trial(t, last: t == o.Trials);
            trials++;
            results.WriteLine(SwifiJson.Line(trial));
            results.Flush();
            faults += trial.Faults.Count;
            if (trial.Restarted) restarts++;
            if (!trial.WorkloadOk && !trial.Restarted) disrupted++;
            if (trial.Forced) forced++;
            if (trial.Propagation is not null)
            {
                propagations++;
                Console.Error.WriteLine($"\nswifi: PROPAGATION in trial {t}: {trial.Propagation}");
            }
            if (campaign.Broken) break;
            Console.Error.Write($"\rswifi: trial {t}/{o.Trials}  faults {faults}  restarts {restarts}  disrupted {disrupted}  " +
                                $"forced {forced}  propagations {propagations}  {faults / sw.Elapsed.TotalSeconds:F0} faults/s   ");
        }
        Console.Error.WriteLine();
        var counters = campaign.Counters();
        results.WriteLine(SwifiJson.Line(new SummaryRecord(trials, faults, restarts, disrupted, forced, propagations,
            Math.Round(sw.Elapsed.TotalSeconds, 1), !campaign.Broken && trials == o.Trials, counters)));
        Console.WriteLine($"swifi: {trials} trials, {faults} faults in {sw.Elapsed.TotalSeconds:F0} s ({faults * 3600 / Math.Max(1, sw.Elapsed.TotalSeconds):F0} faults/hour): " +
                          $"{restarts} restarts, {disrupted} trials disrupted, {forced} failures RS did not catch, {propagations} propagations; results in {output}");
        Console.WriteLine($"swifi: time spent {campaign.Spent}");
        return propagations == 0 ? 0 : 3;
    }

    /// <summary>The state of one campaign: the instance, its driver, the injector, the driver
    /// instance faults go into, and what was last seen of the system.</summary>
    private sealed class Campaign
    {
        private readonly ISwifiTestbed _bed;
        private readonly SwifiOptions _o;
        private readonly Injector _injector = new();
        /// <summary>RS's restarts of the target over the campaign, by cause (the summary's "restart CAUSE").</summary>
        private readonly Dictionary<string, long> _restartCauses = new(StringComparer.Ordinal);
        private int _pid, _faultsThisInstance, _disruptedTrials;
        private long _logOffset, _pidStart;
        private readonly List<string[]> _restartLines = [];
        /// <summary>The denial counters as the last trial ended (the next one starts from them).</summary>
        private Dictionary<string, long> _denials;
        public Time Spent { get; } = new();
        private Dictionary<string, (int? Pid, int Restarts)> _services;

        /// <summary>A trial found the system broken beyond the driver: the campaign stops.</summary>
        public bool Broken { get; private set; }
        public long TextBytes { get; }
        public int Functions { get; }
        /// <summary>The kernel's denial categories in its table's order (Fig. 5.5's rows).</summary>
        public List<string> DenialCategories { get; }

        public Campaign(ISwifiTestbed bed, SwifiOptions o)
        {
            _bed = bed;
            _o = o;
            _pid = bed.WaitDriver(null);
            _pidStart = ProcStat.StartTime(_pid);
            var (text, _) = _injector.Target(_pid, image => DriverText.For(image, bed.Driver), bed.Driver);
            TextBytes = text.Bytes;
            Functions = text.Functions.Count;
            _services = Services();
            NewRestartLines();
            _denials = Denials();
            DenialCategories = [.. _denials.Keys];
        }

        /// <summary>What the testbed counted, and RS's restarts of the target by cause ("restart CAUSE").</summary>
        public Dictionary<string, long> Counters()
        {
            // What is logged at heartbeats (1 s: the filter's status) gets one more after the last trial.
            Thread.Sleep(2500);
            NewRestartLines();
            var all = _bed.Counters();
            foreach (var (cause, n) in _restartCauses) all[$"restart {cause}"] = n;
            return all;
        }

        public TrialRecord Trial(int t, bool last)
        {
            Lap();
            var denials = _denials;
            // Only into the driver instance this trial is about: a pid that died since may be reused.
            var injected = ProcStat.StartTime(_pid) == _pidStart
                ? _injector.Inject(_pid, _bed.Driver, _o.Type, _o.Seed, (long)(t - 1) * _o.Faults, _o.Faults)
                : [];
            _faultsThisInstance += injected.Count;
            int pid = _pid, faultsThisInstance = _faultsThisInstance;
            // A driver that failed at once and is back before the workload starts is proven by the
            // workload itself; one replaced later gets the testbed's Probe afterwards.
            var early = NewRestartLines();
            _restartLines.AddRange(early);
            int restartLinesBefore = _restartLines.Count;
            Spent.Inject += Lap();
            var workloadTime = Stopwatch.StartNew();
            string? error = _bed.Workload(t);
            double workloadMs = workloadTime.Elapsed.TotalMilliseconds;
            Spent.Workload += Lap();
            bool ok = error is null, forced = false, recovered = ok;
            string? unrecovered = null;
            double? recoveryMs = null;
            // RS's `ps` runs a program: asked only when something looks changed (the workload
            // failed, the driver's process or another service's is gone, RS logged a restart of
            // the driver) and every FullCheckEvery trials; else the last answer stands.
            _restartLines.AddRange(NewRestartLines());
            bool look = !ok || _restartLines.Count > 0 || ProcStat.Exited($"/proc/{_pid}/stat") || _services.Any(kv => kv.Value.Pid is int p && ProcStat.Exited($"/proc/{p}/stat")) || t % FullCheckEvery == 0;
            var now = look ? Services() : _services;
            bool restarted = look && Restarted(now);
            Spent.Observe += Lap();
            if (!ok && !restarted)
            {
                // RS catches a hung driver within two heartbeat periods, the driver's clients
                // complain within their answer deadlines: give them the testbed's CatchS.
                var wait = Stopwatch.StartNew();
                while (!(restarted = Restarted(now = Services())) && wait.Elapsed.TotalSeconds < _bed.CatchS) Thread.Sleep(100);
                // Disrupted (§5.1.2): the driver no longer serves the workload, and nothing has
                // noticed. As the thesis did, keep injecting into it; after MaxDisruptedTrials
                // such trials in a row (or at the campaign's end) kill it: "not caught".
                if (!restarted && (++_disruptedTrials >= MaxDisruptedTrials || last) && now.GetValueOrDefault(_bed.Label).Pid is int stuck)
                {
                    Bulkhead.Lib.Host.Native.kill(stuck, Bulkhead.Lib.Host.Native.SIGKILL);
                    forced = true;
                    try
                    {
                        _bed.WaitUntil(() => Restarted(now = Services()), 60, "RS to replace the driver the campaign killed");
                        restarted = true;
                    }
                    catch (InvalidOperationException e)
                    {
                        Broken = true;                  // RS itself no longer replaces drivers
                        unrecovered = "RS did not replace the killed driver within 60 s: " + e.Message.Split('\n')[0];
                        recovered = false;
                    }
                }
            }
            _restartLines.AddRange(NewRestartLines());
            if (restarted && ok && early.Count > 0 && _restartLines.Count == restartLinesBefore)
            {
                _disruptedTrials = 0;
                recoveryMs = workloadMs;                  // the whole workload ran on the new instance
            }
            else if (restarted)
            {
                _disruptedTrials = 0;
                var sw = Stopwatch.StartNew();
                try { _bed.WaitUntil(() => _bed.Probe(t) is null, 60, "the workload to work again after the driver's replacement"); }
                catch (InvalidOperationException e)
                {
                    // The driver was replaced and the workload still does not work: something
                    // beyond the driver is damaged. Recorded, and the campaign ends.
                    Broken = true;
                    unrecovered = "the workload did not work within 60 s of the driver's replacement: " + e.Message.Split('\n')[0];
                }
                recovered = unrecovered is null;
                recoveryMs = sw.Elapsed.TotalMilliseconds;
                now = Services();
            }
            else if (ok) _disruptedTrials = 0;
            Spent.Recover += Lap();
            string? reason = null;
            if (restarted)
            {
                _restartLines.AddRange(NewRestartLines());
                reason = _restartLines.Select(r => r[3]).LastOrDefault();
                _restartLines.Clear();
                _pid = _bed.WaitDriver(pid);
                _pidStart = ProcStat.StartTime(_pid);
                _faultsThisInstance = 0;
            }
            string? propagation = unrecovered ?? Propagation(now);
            if (look) _services = now;                 // the latest answer: taken after any recovery
            var faults = injected.Select(i => new FaultRecord(i.Number, i.Mutation.Type.Name(), i.Function, $"0x{i.FunctionOffset:x}",
                Convert.ToHexString(i.Mutation.Old), Convert.ToHexString(i.Mutation.New), i.Mutation.Before, i.Mutation.After)).ToList();
            var denied = _denials = Denials();
            var delta = denied.Where(kv => kv.Value != denials.GetValueOrDefault(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value - denials.GetValueOrDefault(kv.Key));
            Spent.Observe += Lap();
            return new TrialRecord(t, _o.Type.Name(), pid, faults, faultsThisInstance, ok, error, restarted, reason,
                                   recovered, recoveryMs, forced, delta, propagation, Math.Round(workloadMs, 1));
        }

        private bool Restarted(Dictionary<string, (int? Pid, int Restarts)> now) =>
            now.GetValueOrDefault(_bed.Label).Restarts != _services.GetValueOrDefault(_bed.Label).Restarts;

        /// <summary>What changed for any service but the target since the trial began; null if nothing.</summary>
        private string? Propagation(Dictionary<string, (int? Pid, int Restarts)> now)
        {
            if (now.Count == 0) return "the kernel does not answer ps";
            var changed = _services.Where(kv => kv.Key != _bed.Label && now.GetValueOrDefault(kv.Key) != kv.Value)
                                   .Select(kv => $"{kv.Key}: pid {kv.Value.Pid} restarts {kv.Value.Restarts} → {FormatState(now, kv.Key)}").ToList();
            return changed.Count == 0 ? null : string.Join("; ", changed);
        }

        private static string FormatState(Dictionary<string, (int? Pid, int Restarts)> now, string label) =>
            now.TryGetValue(label, out var s) ? $"pid {s.Pid?.ToString(CultureInfo.InvariantCulture) ?? "none"} restarts {s.Restarts}" : "gone";

        private Dictionary<string, (int? Pid, int Restarts)> Services() => _bed.Services();

        /// <summary>The kernel's denied-access counters (`stats --denials`), by "GROUP description".</summary>
        private Dictionary<string, long> Denials()
        {
            var map = new Dictionary<string, long>(StringComparer.Ordinal);
            string? text = ControlClient.Ask(_bed.Socket, "denials", 30_000);
            if (text is null) return map;
            foreach (var line in text.Split('\n').Skip(1))
            {
                string l = Spaces().Replace(line.Trim(), " ");
                int at = l.LastIndexOf(' ');
                if (at > 0 && !l.StartsWith("total", StringComparison.Ordinal) &&
                    long.TryParse(l.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                    map[l[..at]] = n;
            }
            return map;
        }

        /// <summary>RS's restart lines of the target (RestartLog rows: time, label, incarnation,
        /// cause, …) that the system log got since the last call; the log is read from where the
        /// last call stopped, and every new line also goes to the testbed (Observe).</summary>
        private List<string[]> NewRestartLines()
        {
            var lines = new List<string>();
            try
            {
                using var f = new FileStream(_bed.SystemLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                if (f.Length < _logOffset) _logOffset = 0;
                f.Position = _logOffset;
                using var r = new StreamReader(f);
                string rest = r.ReadToEnd();
                int end = rest.LastIndexOf('\n') + 1;                       // whole lines only
                _logOffset += System.Text.Encoding.UTF8.GetByteCount(rest.AsSpan(0, end));
                lines.AddRange(rest[..end].Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }
            catch (IOException) { }
            _bed.Observe(lines);
            var rows = RestartLog.Rows(lines.Where(l => l.Contains(RestartLog.Marker, StringComparison.Ordinal))).Where(row => row[1] == _bed.Label).ToList();
            foreach (var row in rows) _restartCauses[row[3]] = _restartCauses.GetValueOrDefault(row[3]) + 1;
            return rows;
        }

        private long _lastLap = Stopwatch.GetTimestamp();

        /// <summary>Seconds since the previous Lap.</summary>
        private double Lap()
        {
            long now = Stopwatch.GetTimestamp();
            double s = (now - _lastLap) / (double)Stopwatch.Frequency;
            _lastLap = now;
            return s;
        }
    }

    /// <summary>Where a campaign's time went, in seconds.</summary>
    private sealed class Time
    {
        public double Inject, Workload, Observe, Recover;
        public override string ToString()
        {
            double all = Math.Max(1e-9, Inject + Workload + Observe + Recover);
            return FormattableString.Invariant($"injecting {100 * Inject / all:F0}%, workload {100 * Workload / all:F0}%, observing {100 * Observe / all:F0}%, waiting for recovery {100 * Recover / all:F0}%");
        }
    }

    [GeneratedRegex(" +")]
    private static partial Regex Spaces();
}
