// The main loop every server and driver shares (MINIX's skeleton): receive from ANY, hand
// notifications to one handler and requests to a dispatch table of Do<Call> handlers, reply
// with the handler's result in m_type. A handler returns EDONTREPLY to answer later itself.
// Replies go out with SENDNB when the server must never block on its client (a trusted server
// answering an untrusted driver, thesis §3.3.4), with SEND otherwise.
// Hooks for what some servers need and the loop should not know about: OnReceive sees every
// message first (RS counts any message from a service as a sign of life); OnAnswer takes the
// answers to the server's own asynchronous requests (m_type ≤ 0, never answered: requests have
// positive types), which without it are dispatched like requests.
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Server;

public delegate int RequestHandler(ref Message m);

public sealed class ServerLoop
{
    /// <summary>Requests Defer keeps at most.</summary>
    public const int MaxDeferred = 64;

    private readonly Dictionary<int, RequestHandler> _handlers = [];
    private readonly Queue<Message> _deferred = new();

    /// <summary>Called for every message received, notifications included, before anything else.</summary>
    public Action<Message>? OnReceive { get; set; }
    /// <summary>Called for a message with m_type ≤ 0 that is not a notification: an answer to one
    /// of the server's own asynchronous requests (SENDA), which is never answered. Without it such
    /// a message is dispatched like a request (and answered ENOSYS).</summary>
    public Action<Message>? OnAnswer { get; set; }
    /// <summary>Called for every NOTIFY_MESSAGE (alarms, interrupts, kernel signals).</summary>
    public Action<Message>? OnNotify { get; set; }
    /// <summary>Called for a request type with no handler; without one the request is answered ENOSYS.</summary>
    public RequestHandler? OnUnknown { get; set; }
    /// <summary>Reply with SENDNB (never block on the client).</summary>
    public bool NonBlockingReplies { get; set; }
    /// <summary>With NonBlockingReplies, the one client answered with a blocking SEND all the
    /// same: RS, which sends its requests with SENDNB so as never to wait for a server it
    /// watches, and would lose an answer that found it busy.</summary>
    public int BlockingRepliesTo { get; set; } = Endpoint.None;
    /// <summary>Count every request a handler refuses with EPERM in the kernel's denial table
    /// as "request rejected by target" (thesis Fig. 5.5), against its sender. For the core
    /// servers (PM, DS), which the kernel lets report denials.</summary>
    public bool CountRefusals { get; set; }
    /// <summary>Collect garbage after a request or notification once HeapBound.Budget bytes were
    /// allocated (HeapBound): for the long-running core servers, whose RSS would otherwise grow
    /// by every request's garbage until the runtime's first collection.</summary>
    public bool BoundGarbage { get; set; }

    /// <summary>The process's loop (the last one made or run), for code that waits outside it in
    /// a handler and must keep the messages that arrive meanwhile for it (BlockClient).</summary>
    public static ServerLoop? Current { get; private set; }

    public ServerLoop() => Current = this;

    private bool NonBlockingTo(int client) => NonBlockingReplies && client != BlockingRepliesTo;
    public bool Running { get; private set; }

    public ServerLoop On(int type, RequestHandler handler)
    {
        _handlers[type] = handler;
        return this;
    }

    public void Stop() => Running = false;

    /// <summary>Keeps <paramref name="m"/>, received by a handler outside the loop, for the loop
    /// to dispatch next, before it receives again; false when MaxDeferred already wait.</summary>
    public bool Defer(in Message m)
    {
        if (_deferred.Count >= MaxDeferred) return false;
        _deferred.Enqueue(m);
        return true;
    }

    private int Next(out Message m)
    {
        if (_deferred.TryDequeue(out m)) return Err.Ok;
        return IpcCall.Receive(Endpoint.Any, out m);
    }

    /// <summary>Called when a reply could not be delivered (client gone, or not waiting for a SENDNB).</summary>
    public Action<int, int>? OnReplyFailed { get; set; }

    /// <summary>Runs until Stop() is called from a handler; returns the receive error that ended it, or OK.
    /// A reply and the next receive go to the kernel together (IpcCall.ReplyAndReceive).</summary>
    public int Run()
    {
        Running = true;
        Current = this;
        int r = Next(out var m);
        while (true)
        {
            if (r != Err.Ok) return r;
            OnReceive?.Invoke(m);
            if (IpcCall.IsNotify(m))
            {
                if (m.Source == Endpoint.Rs && Rs.ServiceRuntime.Started) Rs.ServiceRuntime.Alive(); // heartbeat
                OnNotify?.Invoke(m);
                if (BoundGarbage) HeapBound.Check();
                if (!Running) return Err.Ok;
                r = Next(out m);
                continue;
            }
            int source = m.Source;
            if (m.Type <= Err.Ok && OnAnswer is { } answer)
            {
                answer(m);
                if (!Running) return Err.Ok;
                r = Next(out m);
                continue;
            }
            if (source == Endpoint.Rs && m.Type == Rs.RsCall.SaveState && Rs.ServiceRuntime.Started)
            {
                Rs.ServiceRuntime.SaveState(); // answered with StateSaved, not with a reply
                r = Next(out m);
                continue;
            }
            int result = _handlers.TryGetValue(m.Type, out var h) ? h(ref m)
                : OnUnknown is { } u ? u(ref m) : Err.ENOSYS;
            if (result == Err.EPERM && CountRefusals) Sys.SysCall.ReportDenial(Sys.Denial.RequestRejected, source);
            if (BoundGarbage) HeapBound.Check();
            if (!Running)
            {
                if (result != Err.EDONTREPLY) Reply(source, result, ref m);
                return Err.Ok;
            }
            if (result == Err.EDONTREPLY)
            {
                r = Next(out m);
                continue;
            }
            m.Type = result;
            if (_deferred.Count > 0)
            {
                // Deferred requests go first: reply alone, then take the next of them.
                int failed = Reply(source, result, ref m);
                if (failed != Err.Ok) OnReplyFailed?.Invoke(source, failed);
                r = Next(out m);
                continue;
            }
            r = IpcCall.ReplyAndReceive(source, ref m, NonBlockingTo(source), Endpoint.Any, out int replyResult);
            if (replyResult != Err.Ok)
            {
                OnReplyFailed?.Invoke(source, replyResult);
                r = Next(out m);
            }
        }
    }

    public int Reply(int to, int result, ref Message m)
    {
        m.Type = result;
        return NonBlockingTo(to) ? IpcCall.SendNb(to, ref m) : IpcCall.Send(to, ref m);
    }
}
