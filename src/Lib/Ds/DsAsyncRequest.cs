// A DS request sent without waiting for DS, for RS: RS must never block on a server it
// watches, and DS is one (a stopped DS would otherwise stop RS, and with it the recovery of
// DS). Key and value are copied into an arena block of the request's own and granted to DS
// until Dispose; the caller sends Request with SENDA (AsyncSender) and takes DS's reply
// (m_type = result, DsReply.Tag = the request's tag) as a message from DS. Same wire format as DsClient's calls.
using System.Text;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Ds;

public sealed class DsAsyncRequest : IDisposable
{
    private long _block = -1;
    private int _keyGrant = -1, _valueGrant = -1;

    public Message Request { get; private set; }

    private DsAsyncRequest() { }

    /// <summary>PUBLISH of a LABEL (<paramref name="endpoint"/>) or, with <paramref name="value"/>, a MEM entry.</summary>
    public static int Publish(string key, int flags, int endpoint, ReadOnlySpan<byte> value, out DsAsyncRequest? request) =>
        Build(DsCall.Publish, key, flags, endpoint, value, out request);

    /// <summary>DELETE of a key of the given type.</summary>
    public static int Delete(string key, int type, out DsAsyncRequest? request) =>
        Build(DsCall.Delete, key, type, Endpoint.None, default, out request);

    private static int Build(int call, string key, int flags, int endpoint, ReadOnlySpan<byte> value, out DsAsyncRequest? request)
    {
        request = null;
        byte[] keyBytes = Encoding.UTF8.GetBytes(key);
        if (keyBytes.Length is 0 or > DsLimits.MaxKeyLength || value.Length > DsLimits.MaxMemLength) return Err.EINVAL;
        var r = new DsAsyncRequest { _block = ArenaHeap.Allocate(keyBytes.Length + Math.Max(value.Length, 1)) };
        if (r._block < 0) return Err.ENOMEM;
        var arena = Channel.Current.Arena;
        keyBytes.CopyTo(arena.Slice((int)r._block, keyBytes.Length));
        value.CopyTo(arena.Slice((int)r._block + keyBytes.Length, value.Length));
        r._keyGrant = GrantTable.Current.Direct(Endpoint.Ds, r._block, keyBytes.Length, Grant.Read);
        if (r._keyGrant < 0)
        {
            int e = r._keyGrant;
            r.Dispose();
            return e;
        }
        var q = new DsRequest { KeyGrant = r._keyGrant, KeyLength = keyBytes.Length, Flags = flags, Endpoint = endpoint };
        if (!value.IsEmpty)
        {
            r._valueGrant = GrantTable.Current.Direct(Endpoint.Ds, r._block + keyBytes.Length, value.Length, Grant.Read);
            if (r._valueGrant < 0)
            {
                int e = r._valueGrant;
                r.Dispose();
                return e;
            }
            q.ValueGrant = r._valueGrant;
            q.ValueLength = value.Length;
        }
        r.Request = Message.Of(call, q);
        request = r;
        return Err.Ok;
    }

    /// <summary>Revokes the grants and frees the block: DS can no longer read them.</summary>
    public void Dispose()
    {
        if (_keyGrant >= 0) GrantTable.Current.Revoke(_keyGrant);
        if (_valueGrant >= 0) GrantTable.Current.Revoke(_valueGrant);
        if (_block >= 0) ArenaHeap.Free(_block);
        _keyGrant = _valueGrant = -1;
        _block = -1;
    }
}
