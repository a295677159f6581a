// The data store's state and the helpers its Do<Call> handlers share (one partial file per
// call family). Every handler follows the same order: decode and check every field of the
// request (flags, lengths, values), resolve the caller's label, copy keys and values in
// through the caller's grants, check authority and table bounds — and only then change state,
// notify subscribers and fill the reply. A handler that returns an error has changed nothing.
//
// Identity: a caller is named by the label RS published for its endpoint (DsStore.LabelOf), so
// ownership of entries and subscriptions survives the owner's restarts.
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Ds;

internal sealed partial class DsService
{
    private readonly DsStore _store = new();
    private readonly Dictionary<string, DsSubscriber> _subscribers = [];
    private readonly DsCopier _copy = new();
    private int _subscriptionCount;

    private static bool ValidProcessEndpoint(int ep) =>
        !Endpoint.IsSpecial(ep) && Endpoint.Slot(ep) >= 0 && ep >= 0;

    /// <summary>True when <paramref name="label"/> may see entry <paramref name="e"/> under the given privacy bit.</summary>
    private static bool Allowed(DsEntry e, string? label, int privBit) => !e.Has(privBit) || e.Owner == label;

    /// <summary>Records a change of <paramref name="e"/> for every subscriber that matches and may
    /// see it, and NOTIFYs those that currently have an endpoint.</summary>
    private void Changed(DsEntry e)
    {
        var change = new DsChange(e.Key, e.Type, e.Owner);
        foreach (var s in _subscribers.Values)
        {
            if (!Allowed(e, s.Label, DsFlags.PrivSubscribe) || !s.Matches(e.Key, e.Type)) continue;
            s.AddPending(change);
            Wake(s);
        }
    }

    /// <summary>NOTIFYs a subscriber with pending changes, if its label has an endpoint. A dead or
    /// unreachable subscriber is not an error for DS: the change stays pending for its successor.</summary>
    private void Wake(DsSubscriber s)
    {
        if (s.PendingCount == 0) return;
        int ep = _store.EndpointOf(s.Label);
        if (ep != Endpoint.None) IpcCall.Notify(ep);
    }

    private static ref DsReply ReplyOf(ref Message m)
    {
        ref var reply = ref m.As<DsReply>();
        reply = default;
        return ref reply;
    }
}
