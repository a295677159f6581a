// The client side of `bench restart`: a component that uses a driver, and measures how soon a
// replacement answers after the runner SIGKILLs it. At start it has RS start the driver from
// this very binary, mirrored and without backoff (the benchmark measures the mechanism, not the
// policy's waiting), under its etc/drivers.conf policy:
//   testdrv   label testdrv, answers a TestDriverCall.Read;
//   dp8390    label eth0, args "io=0x300 irq=9", policy dp8390, answers a NetDriverCall.GetStat;
//   rtl8139   label eth1, policy rtl8139 (its device from the PCI-bus driver), answers a GetStat.
// Per round, over stdin/stdout with the runner: it prints "ready <endpoint>" once the current
// instance answered the request with OK; the runner kills that instance and writes "killed";
// the client then polls DS every 100 µs for the label's new endpoint (DS subscriptions belong to
// labelled services, which this client is not), sends the request there and prints
// "up <ticks>" when the OK arrives (Stopwatch ticks, CLOCK_MONOTONIC: comparable with the
// runner's). The polling adds at most ~0.1 ms. A new instance is published in DS before it has
// initialized; the request waits in its queue until the driver's loop takes it.
using System.Diagnostics;
using Bulkhead.Lib.Drivers;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;
using Bulkhead.Lib.Rs;

namespace Bulkhead.Bench;

public static class MttrClient
{
    /// <summary>A driver as the client starts it and the request it must answer.</summary>
    private sealed record Target(string Label, string Args, string Policy, int Request);

    private static Target? For(string driver) => driver switch
    {
        "testdrv" => new("testdrv", "testdrv", "", TestDriverCall.Read),
        "dp8390" => new("eth0", "dp8390 io=0x300 irq=9", "dp8390", NetDriverCall.GetStat),
        "rtl8139" => new("eth1", "rtl8139", "rtl8139", NetDriverCall.GetStat),
        _ => null,
    };

    public static int Run(string driver, int rounds)
    {
        if (For(driver) is not { } target) return Fail($"unknown driver '{driver}'", Err.EINVAL);
        int r = Up(target, out string why);
        if (r != Err.Ok) return Fail($"service up{(why.Length > 0 ? " (" + why + ")" : "")}", r);
        int ep = Endpoint.None;
        for (int i = 0; i < rounds; i++)
        {
            // Find the current instance and make sure it answers.
            while (true)
            {
                r = DsClient.RetrieveLabel(target.Label, out ep);
                if (r == Err.Ok && Ask(ep, target.Request) == Err.Ok) break;
                Native.usleep(100);
            }
            Console.WriteLine($"ready {ep}");
            if (Console.ReadLine() != "killed") return 0;
            int old = ep;
            while (true)
            {
                if (DsClient.RetrieveLabel(target.Label, out ep) != Err.Ok || ep == old)
                {
                    Native.usleep(100);
                    continue;
                }
                if (Ask(ep, target.Request) == Err.Ok) break;
            }
            Console.WriteLine($"up {Stopwatch.GetTimestamp()}");
        }
        return 0;
    }

    /// <summary>`service up` of the driver; on a refusal <paramref name="why"/> is RS's reason.</summary>
    private static int Up(Target target, out string why)
    {
        var spec = new ServiceSpec
        {
            Label = target.Label,
            Binary = Environment.ProcessPath!,
            Args = target.Args,
            Policy = target.Policy,
            Mirror = true,
            NoBackoff = true,
        };
        return RsClient.Up(spec, out why);
    }

    /// <summary>One request with an empty payload; its result, or the IPC error.</summary>
    private static int Ask(int ep, int request)
    {
        var m = new Message(request);
        int r = IpcCall.SendRec(ep, ref m);
        return r != Err.Ok ? r : m.Type;
    }

    private static int Fail(string what, int r)
    {
        Console.WriteLine($"error {what} {Err.Name(r)}");
        return 1;
    }
}
