// ds: the data store (thesis §4.2.3, MINIX servers/ds), component `ds` of bulkhead-image at
// fixed slot 6. Wiring only: the shared ServerLoop receives, dispatches the DS_* calls to
// DsService's Do<Call> handlers and replies. Replies go out with SENDNB: DS is trusted and its
// clients include untrusted drivers, which must never be able to block it (thesis §3.3.4) —
// except to RS, which never waits for DS (its requests come with SENDNB) and must get every answer.
// Notifications addressed to DS carry nothing it needs and are ignored. Every handler is
// followed by a garbage bound (ServerLoop.BoundGarbage, issue 9 §3).
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;

namespace Bulkhead.Servers.Ds;

public static class DsServer
{
    public static int Run(string[] args)
    {
        _ = args;
        ServiceRuntime.Start(); // RS's heartbeats and last words (DS is a boot process RS adopts)
        var ds = new DsService();
        var loop = new ServerLoop { NonBlockingReplies = true, BlockingRepliesTo = Endpoint.Rs, CountRefusals = true, BoundGarbage = true }
            .On(DsCall.Publish, Tagged(ds.DoPublish))
            .On(DsCall.Retrieve, Tagged(ds.DoRetrieve))
            .On(DsCall.Subscribe, Tagged(ds.DoSubscribe))
            .On(DsCall.Check, Tagged(ds.DoCheck))
            .On(DsCall.Delete, Tagged(ds.DoDelete))
            .On(DsCall.Snapshot, Tagged(ds.DoSnapshot))
            .On(DsCall.RetrieveLabel, Tagged(ds.DoRetrieveLabel));
        int r = loop.Run();
        return r == Err.Ok ? 0 : 1;
    }

    /// <summary>Every reply carries its request's tag back (DsRequest.Tag), whatever the
    /// handler wrote into the message.</summary>
    private static RequestHandler Tagged(RequestHandler handler) => (ref Message m) =>
    {
        uint tag = m.As<DsRequest>().Tag;
        int r = handler(ref m);
        m.As<DsReply>().Tag = tag;
        return r;
    };
}
