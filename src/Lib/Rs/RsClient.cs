// Client side of RS for programs that start services themselves (benchmarks, tests): `service
// up` of a ServiceSpec through a memory grant, with RS's explanation of a refusal. The service
// utility (src/Commands/Service) speaks the same protocol with its own error texts.
using System.Text;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Rs;

public static class RsClient
{
    private const int BufferBytes = 4096;

    /// <summary>Asks RS to start <paramref name="spec"/>: OK, or the error; on a refusal
    /// <paramref name="why"/> is RS's reason.</summary>
    public static int Up(ServiceSpec spec, out string why)
    {
        why = "";
        byte[] text = Encoding.UTF8.GetBytes(spec.Format());
        if (text.Length >= BufferBytes) return Err.E2BIG;
        long buf = ArenaHeap.Allocate(BufferBytes);
        if (buf < 0) return (int)buf;
        try
        {
            var span = Channel.Current.Arena.Slice((int)buf, BufferBytes);
            span.Clear();
            text.CopyTo(span);
            int grant = GrantTable.Current.Direct(Endpoint.Rs, buf, BufferBytes, Grant.ReadWrite);
            if (grant < 0) return grant;
            try
            {
                var m = Message.Of(RsCall.Up, new BufferRequest { GrantId = grant, Length = text.Length });
                int r = IpcCall.SendRec(Endpoint.Rs, ref m);
                if (r != Err.Ok) return r;
                int length = m.As<RsReply>().Length;
                if (m.Type != Err.Ok && length > 0) why = Encoding.UTF8.GetString(span[..Math.Min(length, BufferBytes)]).TrimEnd('\0');
                return m.Type;
            }
            finally
            {
                GrantTable.Current.Revoke(grant);
            }
        }
        finally
        {
            ArenaHeap.Free(buf);
        }
    }
}
