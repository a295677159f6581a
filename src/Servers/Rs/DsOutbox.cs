// RS's requests to DS — labels to publish or delete, restart events — sent without waiting.
// RS must never block on a server it watches: DS is one, and an RS waiting in SENDREC on a
// stopped or hung DS could neither notice the missed heartbeats nor restart it. Requests go
// out in order with SENDA (AsyncSender: the kernel delivers one when DS next receives, and RS
// never blocks), one at a time (MaxInFlight); DS answers RS with a blocking SEND, so no answer
// is lost while RS is busy, and every answer carries its request's tag (DsRequest.Tag), so an
// answer to a request RS gave up on is never taken for another's. A newer request for the same
// key replaces one not yet sent; when DS was restarted, what was unanswered is sent again with
// a new tag (every request here is idempotent). Nothing is sent again on a timer: a stopped DS
// answers when it runs again, and each copy would hold an entry of RS's SENDA table (shared
// with its other asynchronous requests) until DS took it. Bounded: MaxPending queued keys.
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Rs;

internal sealed class DsOutbox(Action<string> log)
{
    public const int MaxPending = 4 * DriverManager.MaxServices;
    /// <summary>One: the kernel delivers a SENDA table in table order, not in the order the
    /// entries were filled, and DS must apply the requests about one key in the order RS made
    /// them (a label published, then deleted).</summary>
    public const int MaxInFlight = 1;

    private delegate int Builder(out DsAsyncRequest? request);

    private sealed record Op(string Key, string What, Builder Build);

    private readonly LinkedList<Op> _queue = new();
    private readonly Queue<(Op Op, DsAsyncRequest Request, uint Tag)> _inFlight = new();
    private uint _lastTag;

    /// <summary>Requests not yet answered, the ones in flight included.</summary>
    public int Pending => _queue.Count + _inFlight.Count;

    /// <summary>True while a request about <paramref name="label"/>'s LABEL entry waits or is
    /// unanswered: once false, DS has answered the last one (RS releases a held instance then).</summary>
    public bool LabelPending(string label) => IsPending("label " + label);

    private bool IsPending(string key)
    {
        foreach (var op in _queue)
            if (op.Key == key) return true;
        foreach (var f in _inFlight)
            if (f.Op.Key == key) return true;
        return false;
    }

    public void PublishLabel(string label, int endpoint, long now) =>
        Enqueue("label " + label, $"label {label}",
                (out DsAsyncRequest? r) => DsAsyncRequest.Publish(label, DsFlags.Overwrite | DsFlags.TypeLabel, endpoint, default, out r), now);

    public void DeleteLabel(string label, long now) =>
        Enqueue("label " + label, $"deletion of label {label}",
                (out DsAsyncRequest? r) => DsAsyncRequest.Delete(label, DsFlags.TypeLabel, out r), now);

    public void PublishMem(string key, byte[] value, long now) =>
        Enqueue("mem " + key, key,
                (out DsAsyncRequest? r) => DsAsyncRequest.Publish(key, DsFlags.Overwrite | DsFlags.TypeMem, Endpoint.None, value, out r), now);

    private void Enqueue(string key, string what, Builder build, long now)
    {
        for (var n = _queue.First; n is not null; n = n.Next)
        {
            if (n.Value.Key != key) continue;
            _queue.Remove(n);
            break;
        }
        if (_queue.Count >= MaxPending)
        {
            log($"DS requests pile up ({MaxPending}); dropped the oldest: {_queue.First!.Value.What}");
            _queue.RemoveFirst();
        }
        _queue.AddLast(new Op(key, what, build));
        Pump(now);
    }

    /// <summary>Sends what waits, up to MaxInFlight unanswered. Called after every change and
    /// at every tick (a send that found RS's SENDA table full is tried again).</summary>
    public void Pump(long now)
    {
        _ = now;
        while (_inFlight.Count < MaxInFlight && _queue.First is { } first)
        {
            int r = first.Value.Build(out var request);
            if (r != Err.Ok)
            {
                log($"cannot make the DS request for {first.Value.What}: {Err.Name(r)}");
                _queue.RemoveFirst();
                continue;
            }
            uint tag = ++_lastTag == 0 ? ++_lastTag : _lastTag;
            var m = request!.Request;
            m.As<DsRequest>().Tag = tag;
            r = AsyncSender.Send(Endpoint.Ds, m);
            if (r != Err.Ok)
            {
                request.Dispose(); // DS dead or the table full: the next tick tries again
                return;
            }
            _queue.RemoveFirst();
            _inFlight.Enqueue((first.Value, request, tag));
        }
    }

    /// <summary>DS's answer (a message from DS with m_type ≤ 0) to the request in flight whose
    /// tag it carries; an answer to a request given up on (sent again after a DS restart) is
    /// ignored.</summary>
    public void OnAnswer(in Message m, long now)
    {
        if (!_inFlight.TryPeek(out var done) || done.Tag != m.As<DsReply>().Tag) return;
        _inFlight.Dequeue();
        if (m.Type != Err.Ok) log($"DS refused {done.Op.What}: {Err.Name(m.Type)}");
        done.Request.Dispose();
        Pump(now);
    }

    /// <summary>DS was restarted: what was unanswered goes to the new DS first.</summary>
    public void OnDsRestarted(long now)
    {
        Requeue();
        Pump(now);
    }

    /// <summary>Everything in flight back to the front of the queue, in order, unless a newer
    /// request for the same key waits there already.</summary>
    private void Requeue()
    {
        var node = _queue.First;
        while (_inFlight.TryDequeue(out var f))
        {
            f.Request.Dispose();
            bool newer = false;
            for (var n = _queue.First; n is not null; n = n.Next) newer |= n.Value.Key == f.Op.Key;
            if (newer) continue;
            if (node is null) _queue.AddLast(f.Op);
            else _queue.AddBefore(node, f.Op);
        }
    }
}
