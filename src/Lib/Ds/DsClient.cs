// The data store client library (MINIX libsys ds_*), used by every component that names,
// publishes or backs up state. Each call is one SENDREC to DS (fixed endpoint 6); results are
// MINIX codes (Err), never exceptions: the IPC error if the call did not reach DS, else DS's.
//
// Keys, labels and regexes (2..80 bytes) and MEM values (≤ 64 KiB) do not fit a message: each
// call copies them into an arena block of its own and grants DS access to it for the one call
// (GrantedBuffer: READ for what DS reads, WRITE for what DS fills in), revoked and freed when the
// call returns. A key block is exactly the key's length; keys longer than KeyBufferSize bytes
// are refused here (EINVAL), shorter over-long ones reach DS and are refused there like any
// other bad input.
// STR values (≤ 16 bytes) and U32/LABEL values travel in the message. Calls share nothing, so
// any thread may make them; no call blocks on anything but DS.
using System.Text;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Ds;

public static class DsClient
{
    /// <summary>Longest key a caller may hand to DS (DS itself takes DsLimits.MaxKeyLength).</summary>
    private const int KeyBufferSize = 256;

    public static int PublishU32(string key, uint value, int flags) =>
        Publish(key, flags | DsFlags.TypeU32, (ref DsRequest r) => { r.U32 = value; return Err.Ok; });

    public static int PublishStr(string key, string value, int flags)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length > DsLimits.MaxStrLength) return Err.EINVAL;
        return Publish(key, flags | DsFlags.TypeStr, (ref DsRequest r) =>
        {
            bytes.CopyTo((Span<byte>)r.Str);
            r.StrLength = bytes.Length;
            return Err.Ok;
        });
    }

    public static int PublishMem(string key, ReadOnlySpan<byte> value, int flags)
    {
        if (value.Length > DsLimits.MaxMemLength) return Err.EINVAL;
        int r = GrantedBuffer.Create(Endpoint.Ds, Math.Max(value.Length, 1), Grant.Read, out var created);
        if (r != Err.Ok) return r;
        using var buffer = created!;
        value.CopyTo(buffer.Span);
        int length = value.Length;
        return Publish(key, flags | DsFlags.TypeMem, (ref DsRequest q) =>
        {
            q.ValueGrant = buffer.Grant;
            q.ValueLength = length;
            return Err.Ok;
        });
    }

    /// <summary>Publishes label → endpoint. Only RS may (EPERM otherwise).</summary>
    public static int PublishLabel(string label, int endpoint, int flags) =>
        Publish(label, flags | DsFlags.TypeLabel, (ref DsRequest r) => { r.Endpoint = endpoint; return Err.Ok; });

    public static int RetrieveU32(string key, out uint value)
    {
        int r = Retrieve(key, DsFlags.TypeU32, 0, out var reply);
        value = r == Err.Ok ? reply.U32 : 0;
        return r;
    }

    public static int RetrieveStr(string key, out string value)
    {
        int r = Retrieve(key, DsFlags.TypeStr, 0, out var reply);
        value = "";
        if (r != Err.Ok) return r;
        if (reply.StrLength is < 0 or > DsLimits.MaxStrLength) return Err.EINVAL;
        value = Encoding.UTF8.GetString(((ReadOnlySpan<byte>)reply.Str)[..reply.StrLength]);
        return r;
    }

    public static int RetrieveLabel(string label, out int endpoint)
    {
        int r = Retrieve(label, DsFlags.TypeLabel, 0, out var reply);
        endpoint = r == Err.Ok ? reply.Endpoint : Endpoint.None;
        return r;
    }

    /// <summary>Copies a MEM value (or, with <paramref name="snapshot"/> n > 0, its snapshot n)
    /// into <paramref name="buffer"/>. <paramref name="length"/> is the stored length; when it
    /// exceeds the buffer only the buffer's worth was copied (as MINIX).</summary>
    public static int RetrieveMem(string key, Span<byte> buffer, out int length, int snapshot = 0)
    {
        length = 0;
        int size = Math.Min(buffer.Length, DsLimits.MaxMemLength);
        int r = GrantedBuffer.Create(Endpoint.Ds, Math.Max(size, 1), Grant.Write, out var created);
        if (r != Err.Ok) return r;
        using var value = created!;
        r = CallWithKey(DsCall.Retrieve, key, (ref DsRequest q) =>
        {
            q.Flags = DsFlags.TypeMem;
            q.ValueGrant = value.Grant;
            q.ValueLength = size;
            q.Snapshot = snapshot;
            return Err.Ok;
        }, out var reply);
        if (r != Err.Ok) return r;
        if (reply.Copied < 0 || reply.Copied > size || reply.Length < 0) return Err.EINVAL;
        value.Span[..reply.Copied].CopyTo(buffer);
        length = reply.Length;
        return r;
    }

    /// <summary>The label RS published for <paramref name="endpoint"/> (ESRCH when none).</summary>
    public static int RetrieveLabelByEndpoint(int endpoint, out string label)
    {
        return CallWithKeyBuffer(DsCall.RetrieveLabel, (ref DsRequest q) => { q.Endpoint = endpoint; return Err.Ok; }, out _, out label);
    }

    /// <summary>Deletes a key of the given type (DsFlags.Type*). Only its owner may.</summary>
    public static int Delete(string key, int type)
    {
        return CallWithKey(DsCall.Delete, key, (ref DsRequest q) => { q.Flags = type; return Err.Ok; }, out _);
    }

    /// <summary>Subscribes to keys matching <paramref name="regex"/> (anchored ^…$). Flags:
    /// INITIAL to hear about existing keys, type bits to restrict types (none: all).</summary>
    public static int Subscribe(string regex, int flags)
    {
        return CallWithKey(DsCall.Subscribe, regex, (ref DsRequest q) => { q.Flags = flags; return Err.Ok; }, out _);
    }

    /// <summary>One changed key of the caller's subscriptions; ENOENT when there is none.</summary>
    public static int Check(out string key, out int type, out int owner)
    {
        type = 0;
        owner = Endpoint.None;
        int r = CallWithKeyBuffer(DsCall.Check, (ref DsRequest q) => Err.Ok, out var reply, out key);
        if (r == Err.Ok)
        {
            type = reply.Type;
            owner = reply.Owner;
        }
        return r;
    }

    /// <summary>Keeps the current value of a MEM entry as a snapshot; the number returned
    /// retrieves it later with RetrieveMem(key, buffer, out _, snapshot).</summary>
    public static int Snapshot(string key, out int snapshot)
    {
        snapshot = 0;
        int r = CallWithKey(DsCall.Snapshot, key, (ref DsRequest q) => { q.Flags = DsFlags.TypeMem; return Err.Ok; }, out var reply);
        if (r == Err.Ok) snapshot = reply.Snapshot;
        return r;
    }

    private delegate int Fill(ref DsRequest r);

    private static int Publish(string key, int flags, Fill fill) =>
        CallWithKey(DsCall.Publish, key, (ref DsRequest q) =>
        {
            q.Flags = flags;
            return fill(ref q);
        }, out _);

    private static int Retrieve(string key, int type, int snapshot, out DsReply reply) =>
        CallWithKey(DsCall.Retrieve, key, (ref DsRequest q) =>
        {
            q.Flags = type;
            q.Snapshot = snapshot;
            return Err.Ok;
        }, out reply);

    /// <summary>Sends <paramref name="call"/> with the key granted to DS for reading.</summary>
    private static int CallWithKey(int call, string key, Fill fill, out DsReply reply)
    {
        reply = default;
        if (Encoding.UTF8.GetByteCount(key) > KeyBufferSize) return Err.EINVAL;
        byte[] bytes = Encoding.UTF8.GetBytes(key);
        int r = GrantedBuffer.Create(Endpoint.Ds, Math.Max(bytes.Length, 1), Grant.Read, out var created);
        if (r != Err.Ok) return r;
        using var buffer = created!;
        bytes.CopyTo(buffer.Span);
        var q = new DsRequest { KeyGrant = buffer.Grant, KeyLength = bytes.Length };
        r = fill(ref q);
        return r != Err.Ok ? r : Send(call, q, out reply);
    }

    /// <summary>Sends <paramref name="call"/> with a key buffer DS writes into; returns the key.</summary>
    private static int CallWithKeyBuffer(int call, Fill fill, out DsReply reply, out string key)
    {
        reply = default;
        key = "";
        int r = GrantedBuffer.Create(Endpoint.Ds, DsLimits.MaxKeyLength, Grant.Write, out var created);
        if (r != Err.Ok) return r;
        using var buffer = created!;
        var q = new DsRequest { KeyGrant = buffer.Grant, KeyLength = DsLimits.MaxKeyLength };
        r = fill(ref q);
        if (r == Err.Ok) r = Send(call, q, out reply);
        if (r != Err.Ok) return r;
        if (reply.Length is < 0 or > DsLimits.MaxKeyLength) return Err.EINVAL;
        key = Encoding.ASCII.GetString(buffer.Span[..reply.Length]);
        return r;
    }

    private static int Send(int call, in DsRequest q, out DsReply reply)
    {
        var m = Message.Of(call, q);
        int r = IpcCall.SendRec(Endpoint.Ds, ref m);
        reply = r == Err.Ok ? m.As<DsReply>() : default;
        return r == Err.Ok ? m.Type : r;
    }
}
