// `bulkhead-host service ARGS…` (the launcher's `./bulkhead service …`, and <run>/bin/service
// inside an instance): checks the command line here (a usage error prints the usage and exits
// 2 without contacting anyone), makes relative paths absolute against this process's working
// directory, and sends `service "ARG"…` to the running instance's control socket, which runs
// the service component inside Bulkhead (bulkhead-kernel's ServiceRunner). Prints the component's output on
// stdout and exits with its status; 1 when no instance runs or the request fails.
using System.Globalization;
using Bulkhead.Commands.Service;
using Bulkhead.Lib.Control;

namespace Bulkhead.Host.Commands;

internal static class ServiceClient
{
    public static int Run(RunDirectory ctx, string[] args)
    {
        if (args is [] or ["help" or "-h" or "--help"])
        {
            var w = args.Length == 0 ? Console.Error : Console.Out;
            w.WriteLine(ServiceCommandLine.Usage);
            return args.Length == 0 ? 2 : 0;
        }
        var cl = ServiceCommandLine.Parse(args, RunDirectory.ImageDir);
        if (!cl.Ok)
        {
            Console.Error.WriteLine($"service: {cl.Error}");
            Console.Error.WriteLine(ServiceCommandLine.Usage);
            return 2;
        }
        string request = ControlArgs.Join(ControlProtocol.Service, ServiceCommandLine.WithAbsolutePaths(args, Environment.CurrentDirectory));
        string? response = ControlClient.Ask(ctx.Socket, request, ServiceDeadlines.Request.ClientTimeoutMs);
        if (response is null)
        {
            Console.Error.WriteLine($"service: no Bulkhead instance running in {ctx.RunDir}");
            return 1;
        }
        return Report(response);
    }

    /// <summary>Prints a ServiceRunner response ("exit N\n" + output, or "error: …") and returns the status.</summary>
    public static int Report(string response)
    {
        int nl = response.IndexOf('\n');
        string first = nl < 0 ? response : response[..nl];
        if (first.StartsWith("exit ", StringComparison.Ordinal) &&
            int.TryParse(first.AsSpan(5), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int status))
        {
            Console.Out.Write(nl < 0 ? "" : response[(nl + 1)..]);
            Console.Out.Flush();
            return status;
        }
        Console.Error.Write(response.StartsWith("error: ", StringComparison.Ordinal) ? "service: " + response[7..] : response);
        if (!response.EndsWith('\n')) Console.Error.WriteLine();
        return 1;
    }
}
