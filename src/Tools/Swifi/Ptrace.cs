// libc's ptrace and waitpid, as the injector uses them: seize a thread, interrupt it, wait for
// it to stop, detach it (with the signal it was stopped for, so nothing is lost).
using System.Runtime.InteropServices;

namespace Bulkhead.Swifi;

internal static partial class Ptrace
{
    private const long PtraceDetach = 17, PtraceSeize = 0x4206, PtraceInterrupt = 0x4207;
    public const int Eperm = 1, Esrch = 3, Eintr = 4, Sigtrap = 5;
    private const int AllChildren = 0x40000000;   // __WALL: threads as well as processes
    private const int EventStop = 128;             // PTRACE_EVENT_STOP

    [LibraryImport("libc", EntryPoint = "ptrace", SetLastError = true)]
    private static partial long Call(long request, int pid, nint addr, nint data);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int WaitPid(int pid, out int status, int options);

    /// <summary>Seizes thread <paramref name="tid"/> (it keeps running); 0 or the errno.</summary>
    public static int Seize(int tid) => Call(PtraceSeize, tid, 0, 0) < 0 ? Marshal.GetLastPInvokeError() : 0;

    /// <summary>Stops a seized thread (WaitStopped sees the stop); 0 or the errno.</summary>
    public static int Interrupt(int tid) => Call(PtraceInterrupt, tid, 0, 0) < 0 ? Marshal.GetLastPInvokeError() : 0;

    /// <summary>Waits until the seized thread stops. Returns false if it exited instead; else the
    /// signal to hand back on detach (0 for our interrupt or a group stop).</summary>
    public static bool WaitStopped(int tid, out int signal)
    {
        signal = 0;
        while (true)
        {
            int r = WaitPid(tid, out int status, AllChildren);
            if (r < 0)
            {
                if (Marshal.GetLastPInvokeError() == Eintr) continue;
                return false;
            }
            if ((status & 0xFF) != 0x7F) return false;                  // exited or killed
            int sig = (status >> 8) & 0xFF, evt = (status >> 16) & 0xFF;
            if (evt == EventStop || evt != 0) return true;              // our interrupt, or an event stop
            signal = sig == Sigtrap ? 0 : sig;                          // a signal arrived first: keep it
            return true;
        }
    }

    public static void Detach(int tid, int signal) => Call(PtraceDetach, tid, 0, signal);
}
