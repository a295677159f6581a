// Host-side commands that talk to a running instance through its run directory: ps,
// shutdown, log (--restarts: RS's restart events as a table, RestartLog) and stats. Each prints a clear message and exits 1 when no instance runs.
using Bulkhead.Lib.Control;

namespace Bulkhead.Host.Commands;

internal static class InstanceCommands
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    private static int NotRunning(RunDirectory ctx)
    {
        Console.Error.WriteLine($"no Bulkhead instance running in {ctx.RunDir}");
        return 1;
    }

    private static int Request(RunDirectory ctx, string request, int timeoutMs = 10_000)
    {
        string? response = ControlClient.Ask(ctx.Socket, request, timeoutMs);
        if (response is null) return NotRunning(ctx);
        Console.Write(response);
        return response.StartsWith("error:", StringComparison.Ordinal) ? 1 : 0;
    }

    /// <summary>ps: waits as long as the instance may take over RS's `service list`
    /// (ServiceDeadlines.Ps), so a slow answer is read, not taken for no instance.</summary>
    public static int Ps(RunDirectory ctx, string[] args) => Request(ctx, "ps", ServiceDeadlines.Ps.ClientTimeoutMs);

    public static int Shutdown(RunDirectory ctx, string[] args)
    {
        int? pid = Instance.ReadPid(ctx);
        string? response = ControlClient.Ask(ctx.Socket, "shutdown");
        if (response is null) return NotRunning(ctx);
        if (pid is null)
        {
            Console.WriteLine($"asked the instance in {ctx.RunDir} to shut down (no kernel.pid to wait for)");
            return 0;
        }
        var until = DateTime.UtcNow + ShutdownTimeout;
        while (Instance.ProcessAlive(pid.Value))
        {
            if (DateTime.UtcNow > until)
            {
                Console.Error.WriteLine($"kernel pid {pid} did not stop within {ShutdownTimeout.TotalSeconds:F0} s");
                return 1;
            }
            Thread.Sleep(50);
        }
        // A detached kernel is reaped by the host's init; give it a moment so no zombie lingers.
        for (var reaped = DateTime.UtcNow.AddSeconds(5); Directory.Exists($"/proc/{pid}") && DateTime.UtcNow < reaped;)
            Thread.Sleep(50);
        Console.WriteLine($"Bulkhead shut down (kernel pid {pid} and all its processes stopped; run directory {ctx.RunDir})");
        return 0;
    }

    public static int Log(RunDirectory ctx, string[] args)
    {
        bool restarts = false;
        switch (args)
        {
            case []: break;
            case ["--restarts"]: restarts = true; break;
            default:
                Console.Error.WriteLine("usage: log [--restarts]");
                return 2;
        }
        if (!File.Exists(ctx.SystemLog))
        {
            Console.Error.WriteLine($"no system log in {ctx.RunDir}");
            return 1;
        }
        using var log = new FileStream(ctx.SystemLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (restarts)
        {
            using var reader = new StreamReader(log);
            var lines = new List<string>();
            while (reader.ReadLine() is { } line) lines.Add(line);
            Console.Write(RestartLog.Format(lines));
            return 0;
        }
        using var stdout = Console.OpenStandardOutput();
        log.CopyTo(stdout);
        return 0;
    }

    public static int Stats(RunDirectory ctx, string[] args) => args switch
    {
        ["--denials"] => Request(ctx, "denials"),
        ["--devices"] => Request(ctx, "devices"),
        ["--net"] => Run(ctx, ["netstat"]),
        [] or ["--info"] => Request(ctx, "info"),
        _ => Usage(),
    };

    private static int Usage()
    {
        Console.Error.WriteLine("usage: stats [--info | --denials | --devices | --net]");
        return 2;
    }

    /// <summary>`run PROGRAM ARGS…`: a user program inside the running instance with this
    /// process's stdin, stdout and stderr; its exit status is ours.</summary>
    public static int Run(RunDirectory ctx, string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine($"usage: run PROGRAM [ARGS...]   (programs: {string.Join(", ", Bulkhead.Kernel.UserPrograms.Commands)})");
            return 2;
        }
        string? answer = ControlClient.Run(ctx.Socket, args, [0, 1, 2]);
        if (answer is null)
        {
            Console.Error.WriteLine($"no Bulkhead instance answers at {ctx.Socket} (./bulkhead boot --detach starts one)");
            return 1;
        }
        if (answer.StartsWith("exit ", StringComparison.Ordinal) &&
            int.TryParse(answer.AsSpan(5).Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int status))
            return status;
        Console.Error.Write(answer.EndsWith('\n') ? answer : answer + "\n");
        return 1;
    }
}
