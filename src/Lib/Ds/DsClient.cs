// The data store client library (MINIX libsys ds_*), used by every component that names,
// publishes or backs up state. Each call is one SENDREC to DS (fixed endpoint 6); results are
// MINIX codes (Err), never exceptions: the IPC error if the call did not reach DS, else DS's.
//
// Keys, labels and regexes (2..80 bytes) and MEM values (≤ 64 KiB) do not fit a message: the
// client copies them into a private arena buffer and grants DS access for the one call
// (READ for what DS reads, WRITE for what DS fills in), revoking the grant afterwards. STR
// values (≤ 16 bytes) and U32/LABEL values travel in the message. Calls are serialized by a
// lock because the buffers are shared; no call blocks on anything but DS.
using System.Text;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Ds;

public static class DsClient
{
    private static readonly object s_lock = new();

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
        lock (s_lock)
        {
            var b = DsBuffers.Get();
            value.CopyTo(b.Value);
            int length = value.Length;
            int vg = DsBuffers.Expose(b.ValueOffset, Math.Max(length, 1), DsBuffers.Read);
            if (vg < 0) return vg;
            try
            {
                return PublishLocked(key, flags | DsFlags.TypeMem, (ref DsRequest r) =>
                {
                    r.ValueGrant = vg;
                    r.ValueLength = length;
                    return Err.Ok;
                });
            }
            finally { DsBuffers.Revoke(vg); }
        }
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
        lock (s_lock)
        {
            var b = DsBuffers.Get();
            int vg = DsBuffers.Expose(b.ValueOffset, Math.Max(size, 1), DsBuffers.Write);
            if (vg < 0) return vg;
            DsReply reply;
            int r;
            try
            {
                r = CallWithKeyLocked(DsCall.Retrieve, key, DsBuffers.Read, (ref DsRequest q) =>
                {
                    q.Flags = DsFlags.TypeMem;
                    q.ValueGrant = vg;
                    q.ValueLength = size;
                    q.Snapshot = snapshot;
                    return Err.Ok;
                }, out reply);
            }
            finally { DsBuffers.Revoke(vg); }
            if (r != Err.Ok) return r;
            if (reply.Copied < 0 || reply.Copied > size || reply.Length < 0) return Err.EINVAL;
            b.Value[..reply.Copied].CopyTo(buffer);
            length = reply.Length;
            return r;
        }
    }

    /// <summary>The label RS published for <paramref name="endpoint"/> (ESRCH when none).</summary>
    public static int RetrieveLabelByEndpoint(int endpoint, out string label)
    {
        label = "";
        lock (s_lock)
        {
            int r = CallWithKeyBufferLocked(DsCall.RetrieveLabel, (ref DsRequest q) => { q.Endpoint = endpoint; return Err.Ok; }, out var reply, out label);
            return r;
        }
    }

    /// <summary>Deletes a key of the given type (DsFlags.Type*). Only its owner may.</summary>
    public static int Delete(string key, int type)
    {
        lock (s_lock)
            return CallWithKeyLocked(DsCall.Delete, key, DsBuffers.Read, (ref DsRequest q) => { q.Flags = type; return Err.Ok; }, out _);
    }

    /// <summary>Subscribes to keys matching <paramref name="regex"/> (anchored ^…$). Flags:
    /// INITIAL to hear about existing keys, type bits to restrict types (none: all).</summary>
    public static int Subscribe(string regex, int flags)
    {
        lock (s_lock)
            return CallWithKeyLocked(DsCall.Subscribe, regex, DsBuffers.Read, (ref DsRequest q) => { q.Flags = flags; return Err.Ok; }, out _);
    }

    /// <summary>One changed key of the caller's subscriptions; ENOENT when there is none.</summary>
    public static int Check(out string key, out int type, out int owner)
    {
        type = 0;
        owner = Endpoint.None;
        lock (s_lock)
        {
            int r = CallWithKeyBufferLocked(DsCall.Check, (ref DsRequest q) => Err.Ok, out var reply, out key);
            if (r == Err.Ok)
            {
                type = reply.Type;
                owner = reply.Owner;
            }
            return r;
        }
    }

    /// <summary>Keeps the current value of a MEM entry as a snapshot; the number returned
    /// retrieves it later with RetrieveMem(key, buffer, out _, snapshot).</summary>
    public static int Snapshot(string key, out int snapshot)
    {
        snapshot = 0;
        lock (s_lock)
        {
            int r = CallWithKeyLocked(DsCall.Snapshot, key, DsBuffers.Read, (ref DsRequest q) => { q.Flags = DsFlags.TypeMem; return Err.Ok; }, out var reply);
            if (r == Err.Ok) snapshot = reply.Snapshot;
            return r;
        }
    }

    private delegate int Fill(ref DsRequest r);

    private static int Publish(string key, int flags, Fill fill)
    {
        lock (s_lock) return PublishLocked(key, flags, fill);
    }

    private static int PublishLocked(string key, int flags, Fill fill) =>
        CallWithKeyLocked(DsCall.Publish, key, DsBuffers.Read, (ref DsRequest q) =>
        {
            q.Flags = flags;
            return fill(ref q);
        }, out _);

    private static int Retrieve(string key, int type, int snapshot, out DsReply reply)
    {
        lock (s_lock)
            return CallWithKeyLocked(DsCall.Retrieve, key, DsBuffers.Read, (ref DsRequest q) =>
            {
                q.Flags = type;
                q.Snapshot = snapshot;
                return Err.Ok;
            }, out reply);
    }

    /// <summary>Sends <paramref name="call"/> with the key granted to DS. Caller holds s_lock.</summary>
    private static int CallWithKeyLocked(int call, string key, int access, Fill fill, out DsReply reply)
    {
        reply = default;
        var b = DsBuffers.Get();
        int n;
        try { n = Encoding.UTF8.GetBytes(key, b.Key); }
        catch (ArgumentException) { return Err.EINVAL; }
        int kg = DsBuffers.Expose(b.KeyOffset, Math.Max(n, 1), access);
        if (kg < 0) return kg;
        try
        {
            var q = new DsRequest { KeyGrant = kg, KeyLength = n };
            int r = fill(ref q);
            return r != Err.Ok ? r : Send(call, q, out reply);
        }
        finally { DsBuffers.Revoke(kg); }
    }

    /// <summary>Sends <paramref name="call"/> with a key buffer DS writes into; returns the key. Caller holds s_lock.</summary>
    private static int CallWithKeyBufferLocked(int call, Fill fill, out DsReply reply, out string key)
    {
        reply = default;
        key = "";
        var b = DsBuffers.Get();
        int kg = DsBuffers.Expose(b.KeyOffset, DsLimits.MaxKeyLength, DsBuffers.Write);
        if (kg < 0) return kg;
        int r;
        try
        {
            var q = new DsRequest { KeyGrant = kg, KeyLength = DsLimits.MaxKeyLength };
            r = fill(ref q);
            if (r == Err.Ok) r = Send(call, q, out reply);
        }
        finally { DsBuffers.Revoke(kg); }
        if (r != Err.Ok) return r;
        if (reply.Length is < 0 or > DsLimits.MaxKeyLength) return Err.EINVAL;
        key = Encoding.ASCII.GetString(b.Key[..reply.Length]);
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
