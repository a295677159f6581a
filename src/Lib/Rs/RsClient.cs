// Client side of RS for programs that start services themselves (benchmarks, tests): `service
// up` of a ServiceSpec through a memory grant, with RS's explanation of a refusal; and
// `service restart` for a service that may control another (its policy's `driver` key). The service
// utility (src/Commands/Service) speaks the same protocol with its own error texts.
using System.Text;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Rs;

public static class RsClient
{
    private const int BufferBytes = 4096;
    /// <summary>What RS reads of a label request (its limit for the label and the explanation).</summary>
    private const int LabelBytes = 64;

    /// <summary>Asks RS to start <paramref name="spec"/>: OK, or the error; on a refusal
    /// <paramref name="why"/> is RS's reason.</summary>
    public static int Up(ServiceSpec spec, out string why) => Request(RsCall.Up, spec.Format(), BufferBytes, out why);

    /// <summary>Asks RS to restart service <paramref name="label"/> now (`service restart`). A
    /// service may ask only for the drivers its policy names in its `driver` key (Fig. 2.6).</summary>
    public static int Restart(string label, out string why) => Request(RsCall.Restart, label, LabelBytes, out why);

    /// <summary>Complains to RS that the service at <paramref name="target"/> misbehaves (thesis
    /// §4.1.1): RS replaces it when the caller's policy names it in its `driver` key. OK, or the
    /// refusal (EPERM, ESRCH) or IPC error.</summary>
    public static int Complain(int target)
    {
        var m = Message.Of(RsCall.Complain, new ComplainRequest { Target = target });
        int r = IpcCall.SendRec(Endpoint.Rs, ref m);
        return r != Err.Ok ? r : m.Type;
    }

    /// <summary>One RS request whose text travels in a granted buffer of which
    /// <paramref name="announced"/> bytes are offered to RS (RS reads the text up to a NUL and
    /// writes its explanation of a refusal back into them).</summary>
    private static int Request(int call, string request, int announced, out string why)
    {
        why = "";
        byte[] text = Encoding.UTF8.GetBytes(request);
        if (text.Length >= announced) return Err.E2BIG;
        int r = GrantedBuffer.Create(Endpoint.Rs, BufferBytes, Grant.ReadWrite, out var created);
        if (r != Err.Ok) return r;
        using var buffer = created!;
        text.CopyTo(buffer.Span);
        var m = Message.Of(call, new BufferRequest { GrantId = buffer.Grant, Length = announced });
        r = IpcCall.SendRec(Endpoint.Rs, ref m);
        if (r != Err.Ok) return r;
        int length = m.As<RsReply>().Length;
        if (m.Type != Err.Ok && length > 0) why = Encoding.UTF8.GetString(buffer.Span[..Math.Min(length, BufferBytes)]).TrimEnd('\0');
        return m.Type;
    }
}
