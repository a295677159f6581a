// The instance side of `./bulkhead service …`: runs the service component (bulkhead-image
// service ARGS) inside Bulkhead as a user process with least authority — trap SENDREC only,
// kernel calls SETGRANT and SYSCTL, RS as its only target — its stdout/stderr on a pipe, and
// waits for the kernel's exit report (KernelChildExited). Response: "exit N\n" followed by
// everything the component printed, or "error: …\n" when it could not run or was not served.
// While it waits, RsWatch follows the component in the kernel's table: one blocked on RS past
// the ServiceDeadlines (RS stopped, hung, overloaded) is not served, and the answer says "RS
// (endpoint 2) does not answer (why)" and whether RS had the request; one still alive after
// Total is not served either. Either way the component is killed (SIGKILL) and its exit waited
// for, so no request leaves a process behind. Runs on a control-socket connection thread; only
// Kernel's public, thread-safe entry points are used.
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Bulkhead.Kernel;
using Bulkhead.Lib.Control;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Microsoft.Win32.SafeHandles;

namespace Bulkhead.Kernel.Main.Control;

internal static unsafe class ServiceRunner
{
    /// <summary>The image component that runs the request (bulkhead-image service ARGS).</summary>
    public const string Component = "service";
    /// <summary>Output kept from the component; the rest is dropped (and said so).</summary>
    private const int MaxOutput = 1 << 20;

    /// <summary>The service component's privileges: what a user process needs to ask RS.</summary>
    public static PrivilegeBlock Privileges()
    {
        var priv = new PrivilegeBlock { TrapMask = Trap.Bit(Trap.SendRec) };
        priv.AllowCall(KernelCall.SetGrant);
        priv.AllowCall(KernelCall.SysCtl);
        priv.AddTarget(Endpoint.Rs);
        return priv;
    }

    /// <summary>Runs the service component with <paramref name="args"/>; the response.
    /// <paramref name="gaveUp"/> says why it was killed unserved (RS does not answer, or the
    /// component outlived deadlines.Total), else null.</summary>
    public static string Run(Kernel kernel, string imagePath, IReadOnlyList<string> args, ServiceDeadlines deadlines, out string? gaveUp)
    {
        gaveUp = null;
        int* fds = stackalloc int[2];
        if (Native.pipe2(fds, Native.O_CLOEXEC) != 0)
            return $"error: cannot create a pipe (errno {Marshal.GetLastPInvokeError()})\n";
        int readFd = fds[0], writeFd = fds[1];

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
            int ep;
            try
            {
                ep = kernel.Spawn(new ProcessSpec
                {
                    Name = Component,
                    Path = imagePath,
                    Args = [Component, .. args],
                    Privileges = Privileges(),
                    StdoutFd = writeFd,
                });
            }
            finally
            {
                Native.close(writeFd); // the child has its copy; EOF comes when it exits
            }
            if (ep < 0)
            {
                Native.close(readFd);
                return SpawnFailed(kernel, imagePath, ep);
            }
            var output = Task.Run(() => Drain(readFd));

            var watch = new RsWatch(deadlines);
            DateTime? killedAt = null;
            ExitInfo info;
            while (true)
            {
                exited.Reset();
                if (exits.TryGetValue(ep, out info)) break;
                if (!kernel.IsRunning) return "error: the kernel stopped while the service component ran\n";
                if (killedAt is { } k)
                {
                    if (DateTime.UtcNow - k > ServiceDeadlines.ExitWait) return $"error: the service component (endpoint {ep}) did not exit after SIGKILL\n";
                }
                else if (watch.Expired(kernel, ep) is { } why)
                {
                    gaveUp = why;
                    kernel.Kill(ep, Native.SIGKILL);
                    killedAt = DateTime.UtcNow;
                    continue;
                }
                exited.Wait(RsWatch.Poll);
            }

            if (info.How == ExitInfo.Exited) gaveUp = null; // it finished by itself as it was given up
            string text = output.Wait(ServiceDeadlines.DrainWait) ? output.Result : "(output incomplete)\n";
            if (text.Length > 0 && !text.EndsWith('\n')) text += "\n";
            if (gaveUp is not null && watch.Delivered is { } delivered)
            {
                string request = args is ["list", ..] ? ""
                    : delivered ? "; RS had taken the request: `service list` shows whether it was carried out"
                    : "; the request was not delivered";
                return $"error: {gaveUp}{request}\n";
            }
            int status = info.How == ExitInfo.Exited ? info.Status : 1;
            if (gaveUp is not null) text += $"service: {gaveUp}; killed\n";
            else if (info.How != ExitInfo.Exited) text += $"service: killed by signal {info.Status}\n";
            return string.Create(CultureInfo.InvariantCulture, $"exit {status}\n") + text;
        }
        catch (ObjectDisposedException)
        {
            return "error: the kernel has stopped\n";
        }
        finally
        {
            kernel.KernelChildExited -= OnExit;
        }
    }

    /// <summary>Why the service component could not start. EAGAIN from the kernel's spawn
    /// means no free slot in its process table (nothing about the binary), and says so.</summary>
    private static string SpawnFailed(Kernel kernel, string imagePath, int error)
    {
        if (error == Err.EAGAIN && kernel.IsRunning)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"error: cannot start the service component: the kernel's process table is full (no free slot for a new process " +
                $"among its {kernel.Info().ProcSlots}; 'procs' in boot.conf's system section sets the size)\n");
        }
        return $"error: cannot start the service component ({imagePath}): {Err.Name(error)}\n";
    }

    /// <summary>Reads the pipe to EOF (then closes it), keeping at most MaxOutput bytes.</summary>
    public static string Drain(int fd)
    {
        using var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1, isAsync: false);
        using var kept = new MemoryStream();
        var buf = new byte[16384];
        bool truncated = false;
        int n;
        while ((n = stream.Read(buf, 0, buf.Length)) > 0)
        {
            int keep = (int)Math.Min(n, MaxOutput - kept.Length);
            if (keep > 0) kept.Write(buf, 0, keep);
            if (keep < n) truncated = true;
        }
        string text = Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
        return truncated ? text + "\n(output truncated)\n" : text;
    }
}
