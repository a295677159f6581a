// DS_SUBSCRIBE: register a key regex for the caller's label; DS_CHECK: fetch one change.
// The regex is .NET syntax (a superset of POSIX extended for what DS keys need), anchored as
// ^(?:regex)$ and matched with a time-out. Subscribing the same regex again replaces its
// type filter instead of adding a second subscription. With INITIAL every existing key the
// caller may see that matches is reported at once. Changes to PRIVATE keys reach only their
// owner's subscriptions.
//   SUBSCRIBE  EINVAL  unknown flag bits, unsupported type bits, a regex that is empty, over
//                      80 bytes, not printable ASCII or does not compile
//              ESRCH   the caller has no label (MINIX)
//              ENOSPC  the caller has 8 subscriptions, or DS has 64 in total
//   CHECK      ESRCH   the caller has no label;  ENOENT  nothing changed since the last check
//              E2BIG   the caller's key buffer is smaller than the key
using System.Text;
using System.Text.RegularExpressions;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Ds;

internal sealed partial class DsService
{
    public int DoSubscribe(ref Message m)
    {
        var q = m.As<DsRequest>();
        int caller = m.Source;
        int flags = q.Flags;
        if ((flags & ~(DsFlags.Initial | DsFlags.MaskType)) != 0) return Err.EINVAL;
        int types = flags & DsFlags.MaskType;
        if ((types & ~DsFlags.SupportedTypes) != 0) return Err.EINVAL;
        string? label = _store.LabelOf(caller);
        if (label is null) return Err.ESRCH;
        int r = _copy.ReadRegex(caller, q.KeyGrant, q.KeyLength, out string pattern);
        if (r != Err.Ok) return r;
        Regex regex;
        try
        {
            regex = new Regex("^(?:" + pattern + ")$", RegexOptions.CultureInvariant,
                TimeSpan.FromMilliseconds(DsLimits.RegexTimeoutMs));
        }
        catch (ArgumentException)
        {
            return Err.EINVAL;
        }

        _subscribers.TryGetValue(label, out var s);
        var same = s?.Subscriptions.Find(x => x.Pattern == pattern);
        if (same is null)
        {
            if (s is not null && s.Subscriptions.Count >= DsLimits.MaxSubscriptionsPerSubscriber) return Err.ENOSPC;
            if (_subscriptionCount >= DsLimits.MaxSubscriptions) return Err.ENOSPC;
        }

        if (s is null) _subscribers[label] = s = new DsSubscriber(label);
        if (same is not null)
        {
            same.TypeMask = types;
        }
        else
        {
            s.Subscriptions.Add(new DsSubscription(pattern, regex, types));
            _subscriptionCount++;
        }
        if ((flags & DsFlags.Initial) != 0)
        {
            foreach (var e in _store.Entries)
            {
                if (types != 0 && (types & e.Type) == 0) continue;
                if (!Allowed(e, label, DsFlags.PrivSubscribe)) continue;
                try
                {
                    if (regex.IsMatch(e.Key)) s.AddPending(new DsChange(e.Key, e.Type, e.Owner));
                }
                catch (RegexMatchTimeoutException)
                {
                    // A pathological regex matches nothing.
                }
            }
            Wake(s);
        }
        ReplyOf(ref m);
        return Err.Ok;
    }

    public int DoCheck(ref Message m)
    {
        var q = m.As<DsRequest>();
        int caller = m.Source;
        if (q.KeyLength < 0 || q.KeyLength > DsLimits.MaxKeyLength) return Err.EINVAL;
        string? label = _store.LabelOf(caller);
        if (label is null) return Err.ESRCH;
        if (!_subscribers.TryGetValue(label, out var s) || !s.TryPeek(out var c)) return Err.ENOENT;
        byte[] key = Encoding.ASCII.GetBytes(c.Key);
        if (key.Length > q.KeyLength) return Err.E2BIG;
        int r = _copy.Write(caller, q.KeyGrant, key);
        if (r != Err.Ok) return r;

        s.DropFirst();
        ref var reply = ref ReplyOf(ref m);
        reply.Length = key.Length;
        reply.Type = c.Type;
        reply.Owner = _store.EndpointOf(c.Owner);
        return Err.Ok;
    }
}
