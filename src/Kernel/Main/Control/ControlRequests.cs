// What bulkhead-kernel answers on its control socket (ControlServer; the protocol is
// Lib/Control/ControlProtocol.cs): ping, ps, denials, info, devices, shutdown and
// `service "ARG"…`, each from the kernel's snapshots and public entry points (Reports,
// ServiceRunner), so these connection threads never touch kernel tables themselves.
// `shutdown` only sets the boot loop's stop event; BootCommand then stops everything.
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Control;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Main.Control;

internal static class ControlRequests
{
    public static string Answer(string request, Kernel kernel, BootDevices devices, RunDirectory ctx, ManualResetEventSlim stop)
    {
        try
        {
            if (request == ControlProtocol.Service || request.StartsWith(ControlProtocol.Service + " ", StringComparison.Ordinal))
            {
                var args = ControlArgs.Split(request[ControlProtocol.Service.Length..]);
                return args is null
                    ? "error: malformed service request\n"
                    : ServiceRunner.Run(kernel, Path.Combine(RunDirectory.ImageDir, BootProcess.ImageBinary), args, ServiceDeadlines.Request, out _);
            }
            switch (request)
            {
                case "ping": return "pong\n";
                case "ps": return Ps(kernel);
                case "denials": return Reports.Denials(kernel.Denials());
                case "info": return Reports.Info(kernel.Info(), Environment.ProcessId, ctx.RunDir);
                case "devices": return Reports.Devices(devices, kernel);
                case "shutdown":
                    stop.Set();
                    return $"shutting down (kernel pid {Environment.ProcessId})\n";
                default:
                    return $"error: unknown request '{request}' (ping, ps, denials, info, devices, shutdown, service)\n";
            }
        }
        catch (ObjectDisposedException)
        {
            return "error: the kernel has stopped\n";
        }
    }

    /// <summary>The kernel's process table joined with RS's service table (label, restart
    /// count, last failure reason, service state), which `service list` reads from RS. The
    /// kernel's table never waits long for RS: when RS's host process is stopped no `service
    /// list` runs, and one that RS does not answer within ServiceDeadlines.Ps is killed; the
    /// table then comes without the service columns and a last line says why.</summary>
    private static string Ps(Kernel kernel)
    {
        var table = kernel.ProcessTable();
        var services = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? why = null;
        if (table.Any(p => p.Endpoint == Endpoint.Rs && p.State != ProcState.Zombie))
        {
            why = RsWatch.RsStopped(table);
            if (why is null)
            {
                string listing = ServiceRunner.Run(kernel, Path.Combine(RunDirectory.ImageDir, BootProcess.ImageBinary), ["list"],
                                                   ServiceDeadlines.Ps, out why);
                foreach (var line in listing.Split('\n').Skip(1))
                {
                    var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (f.Length >= 6 && f[0] != "LABEL") services[f[0]] = f;
                }
            }
        }
        string text = Reports.ProcessTable(table, services);
        return why is null ? text : $"{text}{why}: service columns left out\n";
    }
}
