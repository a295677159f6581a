// init: the first user process. It prints the boot banner and the process table (GETINFO
// ProcTab) on the console through SYSCTL diagnostics, runs its start-up script when given one
// (argument 1, normally etc/rc: `service up` of the machine's drivers, RcScript), then lives in
// a ServerLoop: an alarm every minute (SETALARM) brings a CLOCK notification, on which it prints
// the uptime (TIMES) and re-arms. It answers no requests but RS's heartbeats: init is a boot
// process RS restarts (docs/rs.md), and a restarted init does not run the script again. Needs:
// SENDREC, RECEIVE, SENDNB and SEND (heartbeats); SYSCTL GETINFO SETALARM TIMES; for the
// script SETGRANT and RS as a target.
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Commands.Init;

public static class InitCommand
{
    private const long TickNs = 60L * 1_000_000_000;

    public static int Run(string[] args)
    {
        SysCall.Diag($"Bulkhead — a dependable multiserver OS (MINIX 3 design), hosted on Linux; init is endpoint {IpcCall.Self}");
        ServiceRuntime.Start(); // RS's heartbeats: init is a boot process RS adopts
        int instance = PrintProcessTable();
        if (instance > 1)
        {
            // RS restarted init: the services of etc/rc are RS's, up or being repaired.
            SysCall.Diag($"init restarted (instance {instance}): {(args.Length > 1 ? args[1] : "the start-up script")} ran at boot and is not run again");
        }
        else if (args.Length > 1)
        {
            int failed = RcScript.Run(args[1]);
            SysCall.Diag(failed == 0 ? $"{args[1]}: done" : $"{args[1]}: done, {failed} command(s) failed");
        }
        int r = SysCall.SetAlarm(TickNs, absolute: false, out _);
        if (r != Err.Ok)
        {
            SysCall.Diag($"cannot set alarm: {Err.Name(r)}");
            return 1;
        }
        var loop = new ServerLoop { OnNotify = OnNotify };
        r = loop.Run();
        SysCall.Diag($"receive failed: {Err.Name(r)}");
        return 1;
    }

    private static void OnNotify(Message m)
    {
        if (m.Source != Endpoint.Clock) return;
        SysCall.SetAlarm(TickNs, absolute: false, out _);
        if (SysCall.Times(Endpoint.Self, out var t) == Err.Ok)
        {
            long s = t.UptimeNs / 1_000_000_000;
            SysCall.Diag(string.Create(CultureInfo.InvariantCulture, $"up {s / 3600}:{s / 60 % 60:D2}:{s % 60:D2}"));
        }
    }

    /// <summary>Prints the process table; returns init's own instance number (BootInstance: 1
    /// at boot, more once RS restarted it, 0 when it is not a restartable boot process).</summary>
    private static int PrintProcessTable()
    {
        int r = SysCall.ProcessTable(out var rows);
        if (r != Err.Ok)
        {
            SysCall.Diag($"cannot read the process table: {Err.Name(r)}");
            return 0;
        }
        int instance = 0;
        var sb = new StringBuilder("process table:\n  SLOT ENDPOINT NAME            STATE\n");
        foreach (var p in rows)
        {
            if (p.Endpoint == IpcCall.Self) instance = p.BootInstance;
            string line = string.Create(CultureInfo.InvariantCulture, $"  {p.Slot,4} {p.Endpoint,8} {p.Name,-15} {p.State}\n");
            if (sb.Length + line.Length > SysCtlRequest.MaxDiagLength)
            {
                SysCall.Diag(sb.ToString());
                sb.Clear();
            }
            sb.Append(line);
        }
        SysCall.Diag(sb.ToString());
        return instance;
    }
}
