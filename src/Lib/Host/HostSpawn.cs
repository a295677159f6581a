// Starts a helper host process of Bulkhead's own programs — never a component (the kernel's
// HostSpawner does those) — with posix_spawn: stdin, stdout and stderr from the descriptors
// given, signal mask cleared, optionally in a new session, and this process's environment.
// Exec replaces this process by another program instead (bulkhead-host's `boot` becoming
// bulkhead-kernel). Users: bulkhead-kernel (the detached kernel, asking the image for its
// components) and bulkhead-host (boot).
// No System.Diagnostics.Process: its SIGCHLD handling must not run in a process that is or
// becomes the kernel. The caller reaps the child (waitid P_PID) or, for a detached one, leaves
// it to the host's init once it exits.
using System.Runtime.InteropServices;
using System.Text;

namespace Bulkhead.Lib.Host;

public static unsafe class HostSpawn
{
    public const int P_PID = 1;

    /// <summary>Spawns <paramref name="path"/> with <paramref name="argv"/>; the host pid or a negative errno.</summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, int stdinFd, int outFd, bool newSession)
    {
        byte* fa = stackalloc byte[Native.SpawnActionsSize];
        byte* attr = stackalloc byte[Native.SpawnAttrSize];
        byte* sigs = stackalloc byte[128];
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
            byte** cenv = CArray(Environment(null), blocks);
            int pid;
            int r = Native.posix_spawn(&pid, cpath, fa, attr, cargv, cenv);
            return r == 0 ? pid : -r;
        }
        finally
        {
            Native.posix_spawn_file_actions_destroy(fa);
            Native.posix_spawnattr_destroy(attr);
            Free(blocks);
        }
    }

    /// <summary>Runs <paramref name="path"/> with <paramref name="argv"/> in place of this
    /// process (same pid and descriptors; execve resets caught signals to their default, but
    /// ignored signals and the signal mask carry over), with this
    /// process's environment and the variables of <paramref name="set"/>. Returns only on
    /// failure, with the errno.</summary>
    public static int Exec(string path, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? set = null)
    {
        var blocks = new List<nint>();
        try
        {
            Native.execve(CString(path, blocks), CArray(argv, blocks), CArray(Environment(set), blocks));
            return Marshal.GetLastPInvokeError();
        }
        finally
        {
            Free(blocks);
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

    /// <summary>This process's environment as NAME=VALUE, with <paramref name="set"/> replacing
    /// or adding variables. (.NET keeps its own copy of the environment; the C one may be stale.)</summary>
    private static List<string> Environment(IReadOnlyDictionary<string, string>? set)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            env[(string)e.Key] = (string?)e.Value ?? "";
        if (set is not null)
            foreach (var (k, v) in set) env[k] = v;
        return [.. env.Select(kv => $"{kv.Key}={kv.Value}")];
    }

    private static byte* CString(string s, List<nint> blocks)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        blocks.Add((nint)p);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    private static byte** CArray(IReadOnlyList<string> items, List<nint> blocks)
    {
        var arr = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1) * (nuint)sizeof(nint));
        blocks.Add((nint)arr);
        for (int i = 0; i < items.Count; i++) arr[i] = CString(items[i], blocks);
        arr[items.Count] = null;
        return arr;
    }

    /// <summary>Frees what CString and CArray allocated. Safe: each block was allocated there
    /// and is freed once.</summary>
    private static void Free(List<nint> blocks)
    {
        foreach (var b in blocks) NativeMemory.Free((void*)b);
        blocks.Clear();
    }
}
