// `bulkhead swifi …` (thesis §5.1, docs/swifi.md): software-implemented fault injection into a
// running driver. `inject LABEL` mutates the running instance's driver LABEL once, printing
// every fault written; `run` is a campaign (SwifiCampaign); `report` renders a campaign's
// results (SwifiReport). The driver is found through the instance's process table (`ps`) and
// its component through the process's command line (bulkhead-image's argv[1]).
using Bulkhead.Lib.Control;
using Bulkhead.Swifi;

namespace Bulkhead.Host.Swifi;

internal static class SwifiCommand
{
    public const string Usage = """
        usage: ./bulkhead swifi inject LABEL [--type TYPE] [--faults N] [--seed S] [--fault FIRST]
               ./bulkhead swifi run --driver rtl8139|dp8390 [--type TYPE] [--trials N] [--faults M] [--seed S] [--out FILE]
               ./bulkhead swifi run --preset thesis-5.1.2 [--trials N] [--faults M] [--seed S]
               ./bulkhead swifi report FILE|DIR... [--csv] [--charts DIR]
        inject writes faults FIRST (default 0) to FIRST+N-1 of the campaign seeded S: a campaign's
        fault number K is replayed with --seed S --fault K --faults 1.
        TYPE: binary, pointer, source, destination, control, parameter, omission, random (default)
        """;

    public static int Run(RunDirectory ctx, string[] args)
    {
        try
        {
            return args switch
            {
                ["inject", var label, .. var rest] => Inject(ctx, label, new SwifiOptions(rest)),
                ["run", .. var rest] => SwifiCampaign.Run(ctx.Root, new SwifiOptions(rest)),
                ["report", var file, .. var rest] => SwifiReport.Run(file, rest),
                _ => Fail(Usage),
            };
        }
        catch (ArgumentException e) { return Fail(e.Message + "\n" + Usage); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return Fail(e.Message); }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message.TrimEnd());
        return 2;
    }

    private static int Inject(RunDirectory ctx, string label, SwifiOptions o)
    {
        int pid = Pid(ctx, label) ?? throw new IOException($"swifi: no process '{label}' in the instance in {ctx.RunDir}");
        string driver = Component(pid);
        var done = new Injector().Inject(pid, driver, o.Type, o.Seed, o.First, o.Faults);
        foreach (var i in done) Console.WriteLine(Describe(i));
        Console.WriteLine($"swifi: {done.Count} {o.Type.Name()} fault(s) into {label} ({driver}, pid {pid}), seed {o.Seed}, faults {o.First}-{o.First + o.Faults - 1}");
        return 0;
    }

    /// <summary>One line per fault: type, function+offset, old and new bytes, old and new code.</summary>
    public static string Describe(Injection i) =>
        $"{i.Number,6} {i.Mutation.Type.Name(),-11} {i.Function}+0x{i.FunctionOffset:x}: {Convert.ToHexString(i.Mutation.Old)} -> {Convert.ToHexString(i.Mutation.New)}  {i.Mutation.Before} -> {i.Mutation.After}";

    /// <summary>The host pid of service <paramref name="name"/> when the instance's `ps` shows it running.</summary>
    public static int? Pid(RunDirectory ctx, string name)
    {
        string? ps = ControlClient.Ask(ctx.Socket, "ps", ServiceDeadlines.Ps.ClientTimeoutMs);
        if (ps is null) throw new IOException($"no Bulkhead instance running in {ctx.RunDir}");
        return Bench.BenchInstance.ParseServices(ps).GetValueOrDefault(name).Pid;
    }

    /// <summary>The component process <paramref name="pid"/> runs: argv[1] of bulkhead-image.</summary>
    public static string Component(int pid)
    {
        var argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
        return argv.Length > 1 && argv[1].Length > 0 ? argv[1] : throw new IOException($"swifi: process {pid} is not a bulkhead-image component");
    }
}
