// bulkhead-kernel (`bulkhead boot [--detach] [--config FILE]`, which bulkhead-host execs):
// boots an instance from a boot configuration. Foreground: this process is the kernel — it creates the run directory, refuses when an
// instance is alive there, writes kernel.pid, creates the configured devices (BootDevices) and
// formats the disk images it created (FirstBootImage),
// starts every boot process in file order (stopping everything if one fails), serves
// control.sock, and shuts down on Ctrl-C, SIGTERM or a `shutdown` request, removing the
// socket and pid file. It also writes <run>/bin/service (ServiceWrapper) and runs the
// service component for `service` requests (ServiceRunner); the requests: ControlRequests.
// --detach re-executes this in a new session (Detacher) and returns once the instance answers.
// Before either, the configuration must parse (BootConfig.Load) and boot a system (BootCheck).
using System.Globalization;
using System.Runtime.InteropServices;
using Bulkhead.Kernel.Main.Control;
using Bulkhead.Lib.Control;
using Bulkhead.Kernel.Boot;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Main.Boot;

internal static class BootCommand
{
    public static int Run(RunDirectory ctx, KernelArgs options)
    {
        string config = options.Config is null ? Path.Combine(ctx.Root, "etc", "boot.conf") : Path.GetFullPath(options.Config);

        BootConfig conf;
        try
        {
            conf = BootConfig.Load(config);
            BootCheck.Check(conf, RunDirectory.ImageDir);
        }
        catch (BootConfigException e)
        {
            Console.Error.WriteLine($"boot: {e.Message}");
            return 1;
        }
        foreach (var (device, ifname) in options.Taps)
        {
            if (conf.Devices.FirstOrDefault(d => d.Name == device) is not { IsNic: true } nic)
            {
                Console.Error.WriteLine($"boot: --tap {device}={ifname}: {config} has no network device '{device}' " +
                                        $"(it has: {string.Join(", ", conf.Devices.Where(d => d.IsNic).Select(d => d.Name))})");
                return 1;
            }
            nic.UseTap(ifname);
        }

        Directory.CreateDirectory(ctx.RunDir);
        if (Refuse(ctx)) return 1;
        if (options.Detach) return Detacher.Detach(ctx, config, options.Client, options.Taps);
        return Boot(ctx, conf, options);
    }

    /// <summary>True (with a message) when an instance is alive in the run directory.</summary>
    private static bool Refuse(RunDirectory ctx)
    {
        if (Instance.ReadPid(ctx) is not { } pid || !Instance.ProcessAlive(pid)) return false;
        if (Instance.Running(ctx) is not null)
            Console.Error.WriteLine($"boot: Bulkhead is already running in {ctx.RunDir} (kernel pid {pid}); './bulkhead shutdown' first");
        else
            Console.Error.WriteLine($"boot: kernel pid {pid} from {ctx.PidFile} is alive but its control socket does not answer; is it still booting?");
        return true;
    }

    private static int Boot(RunDirectory ctx, BootConfig conf, KernelArgs options)
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

        var env = new Dictionary<string, string> { ["DOTNET_ROOT"] = RunDirectory.DotnetRoot() };
        ServiceWrapper.AddEnvironment(ctx, env);
        ServiceWrapper.Write(ctx, options.Client);
        var devices = new BootDevices(ctx.RunDir);
        // Components may read their own program directories (this kernel's, the image's, and
        // that of the bulkhead-host the `service` wrapper runs — with the .NET runtime when it is
        // a JIT build). Recovery scripts also see the `service` wrapper, and at the control
        // socket's path the service socket, which takes nothing but `service` requests.
        var jail = new Bulkhead.Kernel.Host.Jail.JailOptions
        {
            ReadOnlyPaths = [AppContext.BaseDirectory, RunDirectory.ImageDir, ServiceWrapper.ClientDir(options.Client)],
            ScriptBinds = [(ServiceWrapper.BinDir(ctx), ServiceWrapper.BinDir(ctx)), (ctx.ServiceSocket, ctx.Socket)],
        };
        Kernel kernel;
        try { kernel = new Kernel(conf.ToKernelOptions(ctx.SystemLog, env, board: devices.Board, confinement: jail)); }
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
            FirstBootImage.FormatCreated(devices, ctx.Root, text => kernel.Log("boot", text));
            if (!StartAll(kernel, conf, ctx))
            {
                status = 1;
                return status;
            }
            control = new ControlServer(ctx.Socket, req => ControlRequests.Answer(req, kernel, devices, ctx, stop),
                run: (req, fds, conn) => ProgramRunner.Run(kernel, Path.Combine(RunDirectory.ImageDir, BootProcess.ImageBinary), req, fds, conn));
            uint scripts = kernel.UidBase;
            serviceSocket = new ControlServer(ctx.ServiceSocket,
                req => req.StartsWith(ControlProtocol.Service + " ", StringComparison.Ordinal) ? ControlRequests.Answer(req, kernel, devices, ctx, stop)
                     : "error: this socket takes only service requests\n",
                uid => uid == 0 || (scripts != 0 && uid - scripts < Kernel.UidBlockSize));
            if (!options.DetachedChild)
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
    private static bool StartAll(Kernel kernel, BootConfig conf, RunDirectory ctx)
    {
        var endpoints = new Dictionary<string, int>();
        // Init starts etc/rc's services while later boot processes are still to come.
        kernel.ReserveSlots(conf.Processes.Select(p => p.Slot));
        foreach (var p in conf.Processes)
        {
            var spec = p.ToSpec(RunDirectory.ImageDir, ctx.Root, name => endpoints[name]);
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
}
