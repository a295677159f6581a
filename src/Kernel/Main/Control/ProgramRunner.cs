// The instance side of `./bulkhead run PROGRAM ARGS…`: starts a user program (UserPrograms: a
// component of bulkhead-image with a user's least authority) whose stdin, stdout and stderr are
// the three descriptors the client passed with its request, so it reads and writes the user's
// terminal, pipe or file directly. The answer, "exit N\n" (N = 128 + signal when it was killed),
// comes when the program ends. A client that goes away first (Ctrl-C) takes its program with
// it: the connection's hang-up kills the program (SIGKILL) and its exit is waited for, so no
// request leaves a process behind. At most MaxRunning programs run at once. Runs on a
// control-socket connection thread; only Kernel's public, thread-safe entry points are used.
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using Bulkhead.Kernel;
using Bulkhead.Lib.Control;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Main.Control;

internal static class ProgramRunner
{
    /// <summary>Programs `run` may have running at once.</summary>
    public const int MaxRunning = 64;
    private static int s_running;

    public static string Run(Kernel kernel, string imagePath, string request, IReadOnlyList<int> fds, Socket conn)
    {
        var args = ControlArgs.Split(request[ControlProtocol.Run.Length..]);
        if (args is null || args.Count == 0) return "error: malformed run request\n";
        if (!UserPrograms.IsProgram(args[0]))
            return $"error: no program '{args[0]}' (programs: {string.Join(", ", UserPrograms.Commands)})\n";
        if (fds.Count != 3) return $"error: run needs the client's stdin, stdout and stderr ({fds.Count} descriptors came)\n";
        if (Interlocked.Increment(ref s_running) > MaxRunning)
        {
            Interlocked.Decrement(ref s_running);
            return $"error: {MaxRunning} programs are running already\n";
        }
        var exits = new ConcurrentDictionary<int, ExitInfo>();
        using var exited = new ManualResetEventSlim();
        void OnExit(ExitInfo e)
        {
            exits[e.Endpoint] = e;
            exited.Set();
        }
        kernel.KernelChildExited += OnExit;
        try
        {
            int ep = kernel.Spawn(new ProcessSpec
            {
                Name = args[0],
                Path = imagePath,
                Args = [.. args],
                Privileges = UserPrograms.Privileges(),
                StdinFd = fds[0],
                StdoutFd = fds[1],
                StderrFd = fds[2],
            });
            if (ep < 0) return $"error: cannot start {args[0]}: {Err.Name(ep)}\n";
            bool killed = false;
            ExitInfo info;
            while (!exits.TryGetValue(ep, out info))
            {
                if (!kernel.IsRunning) return "error: the kernel stopped while the program ran\n";
                exited.Reset();
                if (exits.ContainsKey(ep)) continue;
                // The client hung up (readable with nothing to read): the program goes too.
                if (!killed && conn.Poll(0, SelectMode.SelectRead) && conn.Available == 0)
                {
                    kernel.Kill(ep, Native.SIGKILL);
                    killed = true;
                }
                exited.Wait(100);
            }
            int status = info.How == ExitInfo.Exited ? info.Status : 128 + info.Status;
            return string.Create(CultureInfo.InvariantCulture, $"exit {status}\n");
        }
        catch (ObjectDisposedException)
        {
            return "error: the kernel has stopped\n";
        }
        finally
        {
            kernel.KernelChildExited -= OnExit;
            Interlocked.Decrement(ref s_running);
        }
    }
}
