// Benchmarks by name, for `bulkhead bench NAME [--json]`. Each entry takes the arguments
// after NAME and returns an exit status. Benchmarks live in their own files in this folder
// and add themselves in a RegisterMore implementation (a partial method: at most one
// implementation; more registration hooks can be added the same way).
namespace Bulkhead.Host.Bench;

public static partial class BenchRegistry
{
    private static readonly Lazy<Dictionary<string, Func<string[], int>>> s_all = new(Build);

    public static IReadOnlyDictionary<string, Func<string[], int>> All => s_all.Value;

    private static Dictionary<string, Func<string[], int>> Build()
    {
        var d = new Dictionary<string, Func<string[], int>>(StringComparer.Ordinal);
        RegisterMore(d);
        return d;
    }

    static partial void RegisterMore(Dictionary<string, Func<string[], int>> d);

    /// <summary>Runs benchmark args[0] with the rest of the arguments.</summary>
    public static int Run(string[] args)
    {
        if (args.Length == 0 || !All.TryGetValue(args[0], out var bench))
        {
            if (args.Length > 0) Console.Error.WriteLine($"bench: unknown benchmark '{args[0]}'");
            Console.Error.WriteLine("usage: bench NAME [--json]; benchmarks: "
                                    + (All.Count == 0 ? "(none yet)" : string.Join(", ", All.Keys.Order(StringComparer.Ordinal))));
            return 2;
        }
        return bench(args[1..]);
    }
}
