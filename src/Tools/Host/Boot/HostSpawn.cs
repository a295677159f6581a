// Starts a helper host process of bulkhead-host itself — never a component (the kernel's
// HostSpawner does those) — with posix_spawn: stdin, stdout and stderr from the descriptors
// given, signal mask cleared, optionally in a new session, and this process's environment.
// No System.Diagnostics.Process: its SIGCHLD handling must not run in a process that becomes
// the kernel. The caller reaps the child (waitid P_PID) or, for a detached one, leaves it to
// the host's init once it exits.
using System.Text;
using Bulkhead.Lib.Host;

namespace Bulkhead.Host.Boot;

internal static unsafe class HostSpawn
{
    public const int P_PID = 1;

    /// <summary>Spawns <paramref name="path"/> with <paramref name="argv"/>; the host pid or a negative errno.</summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, int stdinFd, int outFd, bool newSession)
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
            Native.posix_spawnattr_setflags(attr, (short)((newSession ? Native.POSIX_SPAWN_SETSID : 0) | Native.POSIX_SPAWN_SETSIGMASK));
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

    /// <summary>Reaps <paramref name="pid"/> if it has exited (it is our child until we exit);
    /// with <paramref name="wait"/>, waits for it to exit first.</summary>
    public static bool Reap(int pid, bool wait = false)
    {
        Native.SigInfo info;
        info.Pid = 0;
        return Native.waitid(P_PID, pid, &info, Native.WEXITED | (wait ? 0 : Native.WNOHANG)) == 0 && info.Pid == pid;
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

    private static byte** CArray(IReadOnlyList<string> items, List<nint> blocks)
    {
        var arr = (byte**)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(items.Count + 1) * (nuint)sizeof(nint));
        blocks.Add((nint)arr);
        for (int i = 0; i < items.Count; i++) arr[i] = CString(items[i], blocks);
        arr[items.Count] = null;
        return arr;
    }
}
