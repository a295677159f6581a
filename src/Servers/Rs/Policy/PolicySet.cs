// All isolation policies of one drivers.conf, by driver label (thesis §2.3.1: "each driver
// has a separate entry in the configuration file"). Load/Parse read and check the whole file
// before returning; every mistake is a PolicyException "<file>:<line>: <reason>". A label
// without an entry has no policy: RS refuses to start it rather than guess one. Conflicts
// compares the devices of two policies (see DeviceClaims for the rules).
using Bulkhead.Lib.Config;

namespace Bulkhead.Servers.Rs.Policy;

public sealed class PolicySet
{
    private readonly Dictionary<string, Policy> _byLabel;

    public string File { get; }
    /// <summary>The policies in file order.</summary>
    public IReadOnlyList<Policy> Policies { get; }

    private PolicySet(string file, List<Policy> policies)
    {
        File = file;
        Policies = policies;
        _byLabel = policies.ToDictionary(p => p.Label, StringComparer.Ordinal);
    }

    public int Count => Policies.Count;

    public IEnumerable<string> Labels => Policies.Select(p => p.Label);

    public Policy this[string label] => _byLabel.TryGetValue(label, out var p) ? p : throw new KeyNotFoundException($"no policy for driver '{label}' in {File}");

    public bool TryGet(string label, out Policy policy) => _byLabel.TryGetValue(label, out policy!);

    public Policy? Find(string label) => _byLabel.GetValueOrDefault(label);

    public static PolicySet Load(string path)
    {
        string text;
        try { text = global::System.IO.File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PolicyException(path, 0, $"cannot read: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="file"/> names it in error messages.</summary>
    public static PolicySet Parse(string text, string file = "drivers.conf") =>
        new(file, new PolicyParser(ConfigLexer.Tokenize(text, strings: false), file).Parse());

    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> claim the same device;
    /// <paramref name="reason"/> then names both drivers and the resource.</summary>
    public static bool Conflicts(Policy a, Policy b, out string reason) => DeviceClaims.Conflicts(a, b, out reason);
}
