// The part of every server and driver that talks to the driver manager (thesis §4.1):
//   * Start() installs a last-words handler: an unhandled exception (a NullReference from a bad
//     pointer, a DivideByZero, …) is reported to RS with its type before the runtime aborts, so
//     RS can tell an exception from a panic (Fig. 4.1) although both end in SIGABRT;
//   * Panic() reports a panic and exits;
//   * InitDone() tells RS that initialization finished (the restart only counts from then on);
//   * heartbeat NOTIFYs from RS are answered by ServerLoop with an Alive message;
//   * before a dynamic update RS asks the service to save its state (SaveState, thesis §4.1.3):
//     ServerLoop runs OnSaveState — on the main thread, so it may use IPC, e.g. write the
//     state to DS — and answers StateSaved; RS stops the old instance then, or after its stop
//     time-out if the answer does not come.
// Reports go out with SENDNB first and SEND if RS is busy: RS always comes back to RECEIVE.
// A service's label is in DS before its first IPC (RS starts it held until DS has it,
// docs/rs.md): a service looks it up once, with DsClient.RetrieveLabelByEndpoint(IpcCall.Self).
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Lib.Rs;

public static class ServiceRuntime
{
    private static int s_started;

    /// <summary>True once Start() ran: ServerLoop then answers RS's heartbeats.</summary>
    public static bool Started => Volatile.Read(ref s_started) != 0;

    public static void Start()
    {
        if (Interlocked.Exchange(ref s_started, 1) != 0) return;
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            Report(CrashReportPayload.Exception, e.ExceptionObject?.GetType().Name ?? "unknown");
    }

    /// <summary>A broken invariant: tell RS, then exit. RS restarts the service (reason "panic").</summary>
    public static void Panic(string why)
    {
        Report(CrashReportPayload.Panic, why);
        Environment.Exit(1);
    }

    /// <summary>Saves the component's state before a dynamic update (a component that keeps
    /// state only in memory writes it to DS here; a restarted instance reads it back).</summary>
    public static Action? OnSaveState { get; set; }

    /// <summary>RS asked for the state (ServerLoop calls this): run the hook, then say so.</summary>
    public static void SaveState()
    {
        try { OnSaveState?.Invoke(); }
        finally
        {
            var m = new Message(RsCall.StateSaved);
            Deliver(ref m);
        }
    }

    public static int InitDone()
    {
        var m = new Message(RsCall.InitDone);
        return Deliver(ref m);
    }

    public static int Alive()
    {
        var m = new Message(RsCall.Alive);
        return Deliver(ref m);
    }

    private static void Report(int kind, string text)
    {
        var m = Message.Of(RsCall.CrashReport, new CrashReportPayload { Kind = kind, Text = CrashText.From(text) });
        Deliver(ref m);
    }

    private static int Deliver(ref Message m)
    {
        var copy = m;
        int r = IpcCall.SendNb(Endpoint.Rs, ref copy);
        return r == Err.ENOTREADY ? IpcCall.Send(Endpoint.Rs, ref m) : r;
    }
}
