// CPU-time policy test loads (thesis §3.3.1). Two opposite behaviours the scheduler must tell
// apart by the CPU they use, not by whether they trap:
//   denied-io PORT — the thesis's RTL8139 case: retries a port read it has no privilege for in
//                    a tight loop, so it traps all the time and uses a whole CPU doing so.
//   alarm-sleeper PERIOD_US — lots of legitimate, blocking IPC: sets a CLOCK alarm, sleeps in
//                    RECEIVE until the notification arrives, and does it again, forever.
// Each prints one line once its first call has the expected result ("r EPERM spinning",
// "r OK sleeping") and an "error ..." line and exits 1 if a later call does not. denied-io
// first prints "ready" and waits for a line on stdin before it starts, so that a test can let
// its start-up (runtime, JIT: whole quanta of CPU) pass first.
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.TestComponents;

internal static class CpuLoad
{
    public static int DeniedIo(string[] args)
    {
        int port = int.Parse(args[0], CultureInfo.InvariantCulture);
        Console.WriteLine("ready");
        Console.ReadLine();
        int r = SysCall.InPort(port, 1, out _);
        Console.WriteLine($"r {Err.Name(r)} spinning");
        if (r == Err.Ok) return 1;
        for (long i = 1; ; i++)
        {
            int again = SysCall.InPort(port, 1, out _);
            if (again != r)
            {
                Console.WriteLine($"error {Err.Name(again)} at {i}");
                return 1;
            }
        }
    }

    public static int AlarmSleeper(string[] args)
    {
        long periodNs = long.Parse(args[0], CultureInfo.InvariantCulture) * 1000;
        for (long i = 0; ; i++)
        {
            int r = SysCall.SetAlarm(periodNs, absolute: false, out _);
            var m = default(Message);
            if (r == Err.Ok) r = IpcCall.Receive(Endpoint.Any, out m);
            if (r == Err.Ok && (m.Source != Endpoint.Clock || !IpcCall.IsNotify(m))) r = Err.EBADREQUEST;
            if (r != Err.Ok)
            {
                Console.WriteLine($"error {Err.Name(r)} at {i}");
                return 1;
            }
            if (i == 0) Console.WriteLine("r OK sleeping");
        }
    }
}
