// The client side of `bench restart`: a component that uses a driver, and measures how soon a
// replacement answers after the runner SIGKILLs it. Per round, over stdin/stdout with the
// runner: it prints "ready <endpoint>" once the current instance answered a Read; the runner
// kills that instance and writes "killed"; the client then polls DS every 100 µs for the
// label's new endpoint (DS subscriptions belong to labelled services, which this client is
// not), sends a Read there and prints "up <ticks>" when the reply arrives (Stopwatch ticks,
// CLOCK_MONOTONIC: comparable with the runner's). The polling adds at most ~0.1 ms.
using System.Diagnostics;
using Bulkhead.Lib.Drivers;
using Bulkhead.Lib.Ds;
using Bulkhead.Lib.Host;
using Bulkhead.Lib.Ipc;

namespace Bulkhead.Bench;

public static class MttrClient
{
    public static int Run(string label, int rounds)
    {
        int r = Up(label);
        if (r != Err.Ok) return Fail("service up", r);
        int ep = Endpoint.None;
        for (int i = 0; i < rounds; i++)
        {
            // Find the current instance and make sure it answers.
            while (true)
            {
                r = DsClient.RetrieveLabel(label, out ep);
                if (r == Err.Ok && Read(ep) == Err.Ok) break;
                Native.usleep(100);
            }
            Console.WriteLine($"ready {ep}");
            if (Console.ReadLine() != "killed") return 0;
            int old = ep;
            while (true)
            {
                if (DsClient.RetrieveLabel(label, out ep) != Err.Ok || ep == old)
                {
                    Native.usleep(100);
                    continue;
                }
                if (Read(ep) == Err.Ok) break;
            }
            Console.WriteLine($"up {Stopwatch.GetTimestamp()}");
        }
        return 0;
    }

    /// <summary>`service up` of the test driver from this very binary, mirrored, without backoff
    /// (the benchmark measures the mechanism, not the policy's waiting).</summary>
    private static int Up(string label)
    {
        var spec = new Bulkhead.Lib.Rs.ServiceSpec
        {
            Label = label,
            Binary = Environment.ProcessPath!,
            Args = "testdrv",
            Mirror = true,
            NoBackoff = true,
        };
        byte[] text = System.Text.Encoding.UTF8.GetBytes(spec.Format());
        long buf = ArenaHeap.Allocate(4096);
        if (buf < 0) return (int)buf;
        var span = Channel.Current.Arena.Slice((int)buf, 4096);
        span.Clear();
        text.CopyTo(span);
        int grant = Bulkhead.Lib.Grants.GrantTable.Current.Direct(Endpoint.Rs, buf, 4096, Bulkhead.Lib.Grants.Grant.ReadWrite);
        if (grant < 0) return grant;
        var m = Message.Of(Bulkhead.Lib.Rs.RsCall.Up, new Bulkhead.Lib.Rs.BufferRequest { GrantId = grant, Length = text.Length });
        int r = IpcCall.SendRec(Endpoint.Rs, ref m);
        Bulkhead.Lib.Grants.GrantTable.Current.Revoke(grant);
        ArenaHeap.Free(buf);
        return r != Err.Ok ? r : m.Type;
    }

    private static int Read(int ep)
    {
        var m = new Message(TestDriverCall.Read);
        int r = IpcCall.SendRec(ep, ref m);
        return r != Err.Ok ? r : m.Type;
    }

    private static int Fail(string what, int r)
    {
        Console.WriteLine($"error {what} {Err.Name(r)}");
        return 1;
    }
}
