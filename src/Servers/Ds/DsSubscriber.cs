// One subscriber, named by label so that its subscriptions and pending changes survive its
// restarts (a new endpoint under the same label finds them again). It holds at most
// MaxSubscriptionsPerSubscriber regexes and a FIFO of changed keys without duplicates (a key
// changed twice before CHECK is reported once, with its latest owner); beyond
// MaxPendingPerSubscriber the oldest change is dropped.
using System.Text.RegularExpressions;
using Bulkhead.Lib.Ds;

namespace Bulkhead.Servers.Ds;

internal sealed class DsSubscriber(string label)
{
    public string Label { get; } = label;
    public List<DsSubscription> Subscriptions { get; } = [];

    private readonly LinkedList<DsChange> _pending = new();
    private readonly Dictionary<(int Type, string Key), LinkedListNode<DsChange>> _pendingIndex = [];

    public int PendingCount => _pending.Count;

    /// <summary>True when a subscription matches the key and type.</summary>
    public bool Matches(string key, int type)
    {
        foreach (var s in Subscriptions)
        {
            if (s.TypeMask != 0 && (s.TypeMask & type) == 0) continue;
            try
            {
                if (s.Regex.IsMatch(key)) return true;
            }
            catch (RegexMatchTimeoutException)
            {
                // A pathological regex matches nothing rather than stall DS.
            }
        }
        return false;
    }

    public void AddPending(DsChange c)
    {
        if (_pendingIndex.TryGetValue((c.Type, c.Key), out var node))
        {
            node.Value = c;
            return;
        }
        if (_pending.Count >= DsLimits.MaxPendingPerSubscriber)
        {
            var oldest = _pending.First!;
            _pendingIndex.Remove((oldest.Value.Type, oldest.Value.Key));
            _pending.RemoveFirst();
        }
        _pendingIndex[(c.Type, c.Key)] = _pending.AddLast(c);
    }

    public bool TryPeek(out DsChange c)
    {
        c = _pending.First?.Value ?? default;
        return _pending.Count > 0;
    }

    public void DropFirst()
    {
        var first = _pending.First!;
        _pendingIndex.Remove((first.Value.Type, first.Value.Key));
        _pending.RemoveFirst();
    }
}
