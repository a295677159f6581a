// ipcping ENDPOINT: 1000 SENDREC round trips to an echo server, each with a numbered payload
// that must come back unchanged; prints the median round trip in µs on the console (SYSCTL)
// and exits 0, or names the failure and exits 1. Needs: SENDREC; SYSCTL; the echo endpoint
// as a target.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Commands.IpcPing;

public static class IpcPingCommand
{
    private const int Rounds = 1000;
    private const int Warmup = 100;

    public static int Run(string[] args)
    {
        if (args.Length < 2 || !int.TryParse(args[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int echo))
        {
            SysCall.Diag("usage: ipcping ENDPOINT");
            return 2;
        }
        var samples = new long[Rounds];
        for (int i = 0; i < Warmup + Rounds; i++)
        {
            var m = Message.Of(1, new RoundTrip { Sequence = i });
            long t0 = Stopwatch.GetTimestamp();
            int r = IpcCall.SendRec(echo, ref m);
            long t1 = Stopwatch.GetTimestamp();
            if (r != Err.Ok || m.Type != Err.Ok || m.As<RoundTrip>().Sequence != i)
            {
                SysCall.Diag($"round trip {i} to {echo} failed: {Err.Name(r != Err.Ok ? r : m.Type)}");
                return 1;
            }
            if (i >= Warmup) samples[i - Warmup] = t1 - t0;
        }
        Array.Sort(samples);
        double medianUs = samples[Rounds / 2] * 1e6 / Stopwatch.Frequency;
        SysCall.Diag(string.Create(CultureInfo.InvariantCulture, $"{Rounds} round trips to endpoint {echo}: median {medianUs:F1} µs"));
        return 0;
    }
}
