// echo: the smallest server. Every request is answered with its own payload and result OK;
// notifications are ignored. It exists to measure IPC (ping) and to show the server
// skeleton: the shared ServerLoop receives, dispatches and replies.
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;

namespace Bulkhead.Servers.Echo;

public static class EchoServer
{
    public static int Run(string[] args)
    {
        _ = args;
        ServiceRuntime.Start(); // RS's heartbeats (echo is a boot process RS adopts)
        var loop = new ServerLoop { OnUnknown = DoEcho };
        int r = loop.Run();
        return r == Err.Ok ? 0 : 1;
    }

    /// <summary>Leaves the payload as it came; the loop sends it back with m_type = OK.</summary>
    private static int DoEcho(ref Message m) => Err.Ok;
}
