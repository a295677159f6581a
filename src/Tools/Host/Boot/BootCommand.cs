// `bulkhead boot [--detach] [--config FILE]`: boots an instance from a boot configuration.
// Foreground: this process becomes the kernel — it creates the run directory, refuses when an
// instance is alive there, writes kernel.pid, creates the configured devices (BootDevices),
// starts every boot process in file order (stopping everything if one fails), serves
// control.sock, and shuts down on Ctrl-C, SIGTERM or a `shutdown` request, removing the
// socket and pid file. It also writes <run>/bin/service (ServiceWrapper) and runs the
// service component for `service` requests (ServiceRunner).
// --detach re-executes this in a new session (Detacher) and returns once the instance answers.
// Before either, the configuration must parse (BootConfig.Load) and boot a system (BootCheck).
using System.Globalization;
using System.Runtime.InteropServices;
using Bulkhead.Host.Control;
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Host.Boot;

internal static class BootCommand
{
    public const string DetachedChildFlag = "--detached-child";

    public static int Run(HostContext ctx, string[] args)
    {
        bool detach = false, child = false;
        string? config = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--detach": detach = true; break;
                case DetachedChildFlag: child = true; break;
                case "--config" when i + 1 < args.Length: config = args[++i]; break;
                default:
                    Console.Error.WriteLine($"boot: unknown argument '{args[i]}' (usage: boot [--detach] [--config FILE])");
                    return 2;
            }
        }
        config = config is null ? Path.Combine(ctx.Root, "etc", "boot.conf") : Path.GetFullPath(config);

        BootConfig conf;
        try
        {
            conf = BootConfig.Load(config);
            BootCheck.Check(conf, HostContext.ImageDir);
        }
        catch (BootConfigException e)
        {
            Console.Error.WriteLine($"boot: {e.Message}");
            return 1;
        }

        Directory.CreateDirectory(ctx.RunDir);
        if (Refuse(ctx)) return 1;
        if (detach) return Detacher.Detach(ctx, config);
        return Boot(ctx, conf, child);
    }

    /// <summary>True (with a message) when an instance is alive in the run directory.</summary>
    private static bool Refuse(HostContext ctx)
    {
        if (Instance.ReadPid(ctx) is not { } pid || !Instance.ProcessAlive(pid)) return false;
        if (Instance.Running(ctx) is not null)
            Console.Error.WriteLine($"boot: Bulkhead is already running in {ctx.RunDir} (kernel pid {pid}); './bulkhead shutdown' first");
        else
            Console.Error.WriteLine($"boot: kernel pid {pid} from {ctx.PidFile} is alive but its control socket does not answer; is it still booting?");
        return true;
    }

    private static int Boot(HostContext ctx, BootConfig conf, bool detachedChild)
    {
        FileStream bootLock;
        try { bootLock = new FileStream(ctx.LockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException)
        {
            Console.Error.WriteLine($"boot: another instance is booting in {ctx.RunDir}");
            return 1;
        }
        using var _ = bootLock;
        if (File.Exists(ctx.SystemLog)) File.Move(ctx.SystemLog, ctx.SystemLog + ".old", overwrite: true);
        File.WriteAllText(ctx.PidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");

        using var stop = new ManualResetEventSlim();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });

        var env = new Dictionary<string, string> { ["DOTNET_ROOT"] = DotnetRoot() };
        ServiceWrapper.AddEnvironment(ctx, env);
        ServiceWrapper.Write(ctx);
        var devices = new BootDevices();
        // Components may read their own program directories (the JIT and the NativeAOT image).
        // Recovery scripts also see the `service` wrapper, and at the control socket's path the
        // service socket, which takes nothing but `service` requests.
        var jail = new Kernel.Host.Jail.JailOptions
        {
            ReadOnlyPaths = [AppContext.BaseDirectory, HostContext.ImageDir],
            ScriptBinds = [(ServiceWrapper.BinDir(ctx), ServiceWrapper.BinDir(ctx)), (ctx.ServiceSocket, ctx.Socket)],
        };
        Kernel.Kernel kernel;
        try { kernel = new Kernel.Kernel(conf.ToKernelOptions(ctx.SystemLog, env, board: devices.Board, confinement: jail)); }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"boot: {e.Message}");
            devices.Dispose();
            File.Delete(ctx.PidFile);
            return 1;
        }
        ControlServer? control = null, serviceSocket = null;
        int status = 0;
        try
        {
            kernel.Log("boot", $"Bulkhead kernel pid {Environment.ProcessId}, {conf.System.ProcSlots} slots, configuration {conf.File}");
            if (devices.Start(kernel, conf) is { } deviceError)
            {
                kernel.Log("boot", $"{deviceError}; shutting down");
                Console.Error.WriteLine($"boot: {deviceError}");
                status = 1;
                return status;
            }
            if (!StartAll(kernel, conf, ctx))
            {
                status = 1;
                return status;
            }
            control = new ControlServer(ctx.Socket, req => Answer(req, kernel, devices, ctx, stop));
            uint scripts = kernel.UidBase;
            serviceSocket = new ControlServer(ctx.ServiceSocket,
                req => req.StartsWith(ServiceRunner.Component + " ", StringComparison.Ordinal) ? Answer(req, kernel, devices, ctx, stop)
                     : "error: this socket takes only service requests\n",
                uid => uid == 0 || (scripts != 0 && uid - scripts < Kernel.Kernel.UidBlockSize));
            if (!detachedChild)
                Console.WriteLine($"Bulkhead is up (run directory {ctx.RunDir}); Ctrl-C or './bulkhead shutdown' stops it.");
            while (!stop.Wait(500) && kernel.IsRunning) { }
            if (!kernel.IsRunning)
            {
                Console.Error.WriteLine("boot: the kernel stopped by itself; see " + ctx.SystemLog);
                status = 1;
            }
            else
            {
                kernel.Log("boot", "shutting down");
            }
            return status;
        }
        finally
        {
            control?.Dispose();
            serviceSocket?.Dispose();
            kernel.Dispose();
            devices.Dispose();
            try { File.Delete(ctx.PidFile); } catch (IOException) { }
            Console.WriteLine(status == 0 ? "Bulkhead shut down." : "Bulkhead stopped.");
        }
    }

    /// <summary>Starts every boot process in order; on the first failure logs why and returns false.</summary>
    private static bool StartAll(Kernel.Kernel kernel, BootConfig conf, HostContext ctx)
    {
        var endpoints = new Dictionary<string, int>();
        foreach (var p in conf.Processes)
        {
            var spec = p.ToSpec(HostContext.ImageDir, ctx.Root, name => endpoints[name]);
            int ep = kernel.Spawn(spec);
            if (ep < 0)
            {
                kernel.Log("boot", $"cannot start {p.Name} ({spec.Path}, {conf.File}:{p.Line}): {Err.Name(ep)}; shutting down");
                return false;
            }
            endpoints[p.Name] = ep;
        }
        kernel.Log("boot", $"started {string.Join(", ", conf.Processes.Select(p => $"{p.Name} ({endpoints[p.Name]})"))}");
        return true;
    }

    private static string Answer(string request, Kernel.Kernel kernel, BootDevices devices, HostContext ctx, ManualResetEventSlim stop)
    {
        try
        {
            if (request == ServiceRunner.Component || request.StartsWith(ServiceRunner.Component + " ", StringComparison.Ordinal))
            {
                var args = ControlArgs.Split(request[ServiceRunner.Component.Length..]);
                return args is null
                    ? "error: malformed service request\n"
                    : ServiceRunner.Run(kernel, Path.Combine(HostContext.ImageDir, BootProcess.ImageBinary), args, ServiceDeadlines.Request, out _);
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
    private static string Ps(Kernel.Kernel kernel)
    {
        var table = kernel.ProcessTable();
        var services = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? why = null;
        if (table.Any(p => p.Endpoint == Endpoint.Rs && p.State != ProcState.Zombie))
        {
            why = RsWatch.RsStopped(table);
            if (why is null)
            {
                string listing = ServiceRunner.Run(kernel, Path.Combine(HostContext.ImageDir, BootProcess.ImageBinary), ["list"],
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

    /// <summary>The .NET installation this host runs on, so JIT apphosts of components start:
    /// the runtime directory is DOTNET_ROOT/shared/Microsoft.NETCore.App/VERSION/.</summary>
    private static string DotnetRoot()
    {
        string dir = RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/');
        return Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(dir)))!;
    }
}
