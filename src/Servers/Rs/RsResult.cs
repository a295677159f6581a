// What an RS request handler decided, in one value: the MINIX result code that becomes the
// reply's m_type, the endpoint a start produced, and the text for the caller — RS's explanation
// of a refusal, which the loop writes back into the caller's granted buffer, or the number of
// bytes a handler wrote there itself (`service list`'s table). The loop turns it into the reply
// (RsReply) in one place (DriverManager.Answer), for every request family alike.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Servers.Rs;

internal readonly record struct RsResult(int Code, string Why = "", int Endpoint = Lib.Ipc.Endpoint.None, int Written = 0)
{
    public static RsResult Ok => new(Err.Ok);

    /// <summary>Success; <paramref name="endpoint"/> is the instance the request started.</summary>
    public static RsResult Started(int endpoint) => new(Err.Ok, Endpoint: endpoint);

    /// <summary>Success: <paramref name="written"/> bytes of the answer are in the caller's buffer
    /// (or, when negative, the error that writing them met).</summary>
    public static RsResult Wrote(int written) => written >= 0 ? new(Err.Ok, Written: written) : new(written);

    /// <summary>Refused with <paramref name="code"/>, for the reason <paramref name="why"/>.</summary>
    public static RsResult Refused(int code, string why) => new(code, why);

    public bool IsOk => Code == Err.Ok;
}
