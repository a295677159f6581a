// The table of entries: at most DsLimits.MaxEntries of them, keyed by (type, key), with an
// index from endpoint to LABEL entry (the reverse lookup by which DS names its callers) and
// the MEM byte budget. The store only keeps the table consistent; the handlers decide who may
// do what and check every argument before calling a mutating method.
//
// Invariants (AssertInvariants): the endpoint index holds exactly the LABEL entries, one per
// endpoint; MemUsed is the sum of every entry's MemBytes and never exceeds the budget.
using System.Diagnostics;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Ds;

internal sealed class DsStore
{
    /// <summary>The label RS is known by before it publishes one for itself.</summary>
    public const string RsLabel = "rs";

    private readonly Dictionary<(int Type, string Key), DsEntry> _entries = [];
    private readonly Dictionary<int, DsEntry> _labelByEndpoint = [];

    public int Count => _entries.Count;
    public long MemUsed { get; private set; }
    public long MemFree => DsLimits.MemBudget - MemUsed;
    public IEnumerable<DsEntry> Entries => _entries.Values;

    public DsEntry? Find(int type, string key) => _entries.GetValueOrDefault((type, key));

    public DsEntry? FindLabel(int endpoint) => _labelByEndpoint.GetValueOrDefault(endpoint);

    /// <summary>The entries <paramref name="label"/> published (a copy: the caller may remove them).</summary>
    public List<DsEntry> OwnedBy(string label) => [.. _entries.Values.Where(e => e.Owner == label)];

    /// <summary>The stable name of a caller: the label RS published for its endpoint. RS itself
    /// is "rs" until it publishes its own label. Null when the endpoint has no label.</summary>
    public string? LabelOf(int endpoint) =>
        FindLabel(endpoint)?.Key ?? (endpoint == Endpoint.Rs ? RsLabel : null);

    /// <summary>The current endpoint of a label, NONE when it has none.</summary>
    public int EndpointOf(string label) =>
        Find(DsFlags.TypeLabel, label)?.Endpoint ?? (label == RsLabel ? Endpoint.Rs : Endpoint.None);

    /// <summary>Inserts a new entry; the caller checked the table size and the budget.</summary>
    public void Add(DsEntry e)
    {
        Debug.Assert(Count < DsLimits.MaxEntries && e.MemBytes <= MemFree);
        _entries.Add((e.Type, e.Key), e);
        if (e.Type == DsFlags.TypeLabel) _labelByEndpoint[e.Endpoint] = e;
        MemUsed += e.MemBytes;
        AssertInvariants();
    }

    public void Remove(DsEntry e)
    {
        _entries.Remove((e.Type, e.Key));
        if (e.Type == DsFlags.TypeLabel) _labelByEndpoint.Remove(e.Endpoint);
        MemUsed -= e.MemBytes;
        AssertInvariants();
    }

    /// <summary>Changes an entry in place through <paramref name="change"/>, keeping the indexes
    /// and the budget right. The caller checked that the new size fits.</summary>
    public void Update(DsEntry e, Action<DsEntry> change)
    {
        Remove(e);
        change(e);
        Add(e);
    }

    [Conditional("DEBUG")]
    public void AssertInvariants()
    {
        long mem = 0;
        int labels = 0;
        foreach (var e in _entries.Values)
        {
            mem += e.MemBytes;
            if (e.Type != DsFlags.TypeLabel) continue;
            labels++;
            Debug.Assert(_labelByEndpoint.TryGetValue(e.Endpoint, out var l) && ReferenceEquals(l, e));
        }
        Debug.Assert(labels == _labelByEndpoint.Count);
        Debug.Assert(mem == MemUsed && MemUsed <= DsLimits.MemBudget);
        Debug.Assert(_entries.Count <= DsLimits.MaxEntries);
    }
}
