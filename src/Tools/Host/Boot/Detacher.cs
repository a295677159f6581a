// `boot --detach`: starts this same program again as `boot --detached-child` in a new session
// (posix_spawn with POSIX_SPAWN_SETSID), stdin from /dev/null, stdout and stderr to
// <run>/console.log, so it outlives the launcher and its terminal. Then waits (30 s at most)
// until the new instance's control socket answers and reports it, or shows the console log
// if the child died first. No System.Diagnostics.Process: the child must not be tied to us.
using System.Text;
using Bulkhead.Host.Control;
using Bulkhead.Lib.Host;

namespace Bulkhead.Host.Boot;

internal static unsafe class Detacher
{
    private const int P_PID = 1;
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(30);

    public static int Detach(HostContext ctx, string config)
    {
        // Under `dotnet bulkhead-host.dll` the process path is dotnet; pass the assembly along.
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var argv = new List<string> { exe };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") argv.Add(Environment.GetCommandLineArgs()[0]);
        argv.AddRange(["--root", ctx.Root, "--run", ctx.RunDir, "boot", "--config", config, BootCommand.DetachedChildFlag]);

        int pid;
        using (var console = File.OpenHandle(ctx.ConsoleLog, FileMode.Create, FileAccess.Write))
        using (var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read))
        {
            pid = Spawn(exe, argv, (int)devNull.DangerousGetHandle(), (int)console.DangerousGetHandle());
        }
        if (pid < 0)
        {
            Console.Error.WriteLine($"boot: cannot start the detached kernel (errno {-pid})");
            return 1;
        }

        var until = DateTime.UtcNow + BootTimeout;
        while (DateTime.UtcNow < until)
        {
            if (ControlClient.Answers(ctx.Socket))
            {
                Console.WriteLine($"Bulkhead booted (kernel pid {pid}, run directory {ctx.RunDir})");
                return 0;
            }
            if (Exited(pid))
            {
                Console.Error.WriteLine($"boot: the kernel (pid {pid}) exited during boot; its console ({ctx.ConsoleLog}):");
                Console.Error.Write(File.ReadAllText(ctx.ConsoleLog));
                return 1;
            }
            Thread.Sleep(100);
        }
        Console.Error.WriteLine($"boot: kernel pid {pid} did not answer on {ctx.Socket} within {BootTimeout.TotalSeconds:F0} s; see {ctx.ConsoleLog}");
        return 1;
    }

    /// <summary>Reaps <paramref name="pid"/> if it has exited (it is our child until we exit).</summary>
    private static bool Exited(int pid)
    {
        Native.SigInfo info;
        info.Pid = 0;
        return Native.waitid(P_PID, pid, &info, Native.WEXITED | Native.WNOHANG) == 0 && info.Pid == pid;
    }

    private static int Spawn(string path, List<string> argv, int stdinFd, int outFd)
    {
        byte* fa = stackalloc byte[Native.SpawnActionsSize];
        byte* attr = stackalloc byte[Native.SpawnAttrSize];
        byte* sigs = stackalloc byte[128];
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            env.Add($"{e.Key}={e.Value}");
        var blocks = new List<nint>();
        Native.posix_spawn_file_actions_init(fa);
        Native.posix_spawnattr_init(attr);
        try
        {
            Native.posix_spawn_file_actions_adddup2(fa, stdinFd, 0);
            Native.posix_spawn_file_actions_adddup2(fa, outFd, 1);
            Native.posix_spawn_file_actions_adddup2(fa, outFd, 2);
            Native.sigemptyset(sigs);
            Native.posix_spawnattr_setsigmask(attr, sigs);
            Native.posix_spawnattr_setflags(attr, (short)(Native.POSIX_SPAWN_SETSID | Native.POSIX_SPAWN_SETSIGMASK));
            byte* cpath = CString(path, blocks);
            byte** cargv = CArray(argv, blocks);
            byte** cenv = CArray(env, blocks);
            int pid;
            int r = Native.posix_spawn(&pid, cpath, fa, attr, cargv, cenv);
            return r == 0 ? pid : -r;
        }
        finally
        {
            Native.posix_spawn_file_actions_destroy(fa);
            Native.posix_spawnattr_destroy(attr);
            // Safe: every block was allocated by CString/CArray below and is freed once.
            foreach (var b in blocks) System.Runtime.InteropServices.NativeMemory.Free((void*)b);
        }
    }

    private static byte* CString(string s, List<nint> blocks)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)n + 1);
        blocks.Add((nint)p);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    private static byte** CArray(List<string> items, List<nint> blocks)
    {
        var arr = (byte**)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(items.Count + 1) * (nuint)sizeof(nint));
        blocks.Add((nint)arr);
        for (int i = 0; i < items.Count; i++) arr[i] = CString(items[i], blocks);
        arr[items.Count] = null;
        return arr;
    }
}
