// Runs a user program (Kernel.UserPrograms: a command of bulkhead-image with a user's
// privileges) in a test's kernel the way `./bulkhead run` does, with pipes for its stdin,
// stdout and stderr: Start gives a handle whose Wait returns the exit status and everything it
// printed; Run does both. Kill ends it early (SIGKILL).
using System.Collections.Concurrent;
using System.Text;
using Bulkhead.Kernel;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Sys;
using Microsoft.Win32.SafeHandles;

namespace Bulkhead.Tests.Harness;

public sealed unsafe class UserProgramRun : IDisposable
{
    private readonly Bulkhead.Kernel.Kernel _kernel;
    private readonly Task<byte[]> _stdout;
    private readonly Task<byte[]> _stderr;
    private readonly FileStream? _stdin;
    private readonly TaskCompletionSource<ExitInfo> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Endpoint { get; }
    public string Command { get; }

    private UserProgramRun(Bulkhead.Kernel.Kernel kernel, string[] args, bool keepStdinOpen)
    {
        _kernel = kernel;
        Command = string.Join(' ', args);
        int* fds = stackalloc int[6];
        for (int i = 0; i < 3; i++)
            if (Native.pipe2(fds + 2 * i, Native.O_CLOEXEC) != 0) throw new IOException("pipe2");
        int inRead = fds[0], inWrite = fds[1], outRead = fds[2], outWrite = fds[3], errRead = fds[4], errWrite = fds[5];
        kernel.KernelChildExited += OnExit;
        try
        {
            Endpoint = kernel.Spawn(new ProcessSpec
            {
                Name = args[0],
                Path = RsSystem.Image,
                Args = args,
                Privileges = UserPrograms.Privileges(),
                StdinFd = inRead,
                StdoutFd = outWrite,
                StderrFd = errWrite,
            });
        }
        finally
        {
            Native.close(inRead);
            Native.close(outWrite);
            Native.close(errWrite);
        }
        _stdout = Task.Run(() => Drain(outRead));
        _stderr = Task.Run(() => Drain(errRead));
        var stdin = new FileStream(new SafeFileHandle(inWrite, ownsHandle: true), FileAccess.Write, 1);
        if (keepStdinOpen) _stdin = stdin;
        else stdin.Dispose();
        if (Endpoint < 0) throw new InvalidOperationException($"cannot start {Command}: {Endpoint}");
    }

    private void OnExit(ExitInfo e)
    {
        if (e.Endpoint == Endpoint) _exit.TrySetResult(e);
    }

    private static byte[] Drain(int fd)
    {
        using var s = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1);
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>Starts <paramref name="args"/> (component first); stdin is closed at once unless
    /// <paramref name="keepStdinOpen"/> (then write it with Stdin and close it with CloseStdin).</summary>
    public static UserProgramRun Start(Bulkhead.Kernel.Kernel kernel, bool keepStdinOpen, params string[] args) => new(kernel, args, keepStdinOpen);

    public static UserProgramRun Start(Bulkhead.Kernel.Kernel kernel, params string[] args) => new(kernel, args, false);

    /// <summary>Runs the program to its end; fails the test when it outlives <paramref name="timeoutMs"/>.</summary>
    public static (int Status, string Stdout, string Stderr) Run(Bulkhead.Kernel.Kernel kernel, int timeoutMs, params string[] args)
    {
        using var p = Start(kernel, args);
        return p.Wait(timeoutMs);
    }

    public Stream Stdin => _stdin ?? throw new InvalidOperationException("stdin was closed at start");

    public void CloseStdin() => _stdin?.Dispose();

    /// <summary>The exit status (128 + signal when killed), stdout and stderr as text.</summary>
    public (int Status, string Stdout, string Stderr) Wait(int timeoutMs)
    {
        var (status, stdout, stderr) = WaitBytes(timeoutMs);
        return (status, Encoding.UTF8.GetString(stdout), stderr);
    }

    public (int Status, byte[] Stdout, string Stderr) WaitBytes(int timeoutMs)
    {
        if (!_exit.Task.Wait(timeoutMs))
        {
            Kill();
            _exit.Task.Wait(10_000);
            string err = _stderr.Wait(2000) ? Encoding.UTF8.GetString(_stderr.Result) : "";
            throw new TimeoutException($"{Command} did not end within {timeoutMs} ms; stderr: {err}");
        }
        var e = _exit.Task.Result;
        _stdout.Wait(10_000);
        _stderr.Wait(10_000);
        return (e.How == ExitInfo.Exited ? e.Status : 128 + e.Status, _stdout.Result, Encoding.UTF8.GetString(_stderr.Result));
    }

    public bool Exited => _exit.Task.IsCompleted;

    public void Kill() => _kernel.Kill(Endpoint, Native.SIGKILL);

    public void Dispose()
    {
        _kernel.KernelChildExited -= OnExit;
        _stdin?.Dispose();
        if (!_exit.Task.IsCompleted)
        {
            Kill();
            _exit.Task.Wait(5000);
        }
    }
}
