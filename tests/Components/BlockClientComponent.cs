// blkclient: a service that uses a BlockClient the way a file server does — started by RS under
// a policy that lets it reach one block driver and complain about it — and runs a ServerLoop
// whose requests (sent by a test's puppet with `sendrec3 <ep> <type> <a> <b> <c>`) drive it:
//   Read  (a position, b length, c chunk): reads the range in chunks of c bytes, SHA-1 over it;
//   Write (a position, b length, c chunk | seed << 32): writes BlockPattern(seed) over the range;
//   Stat: the client's counters;  Ping: answered at once;  Flush.
// Each answer carries a = the result (bytes moved or a negative Err) and for reads b, c = the
// first 16 bytes of the SHA-1; each operation also logs one line with everything:
//   "blkclient: read POS LEN -> RESULT sha1 HEX restarts R reissued I complaints C stale S us T".
// Arguments: label=L minor=N [timeout=MS] [recovery=MS] [attempts=N] [staging=BYTES]
// [ram=BYTES: first create a RAM disk of that size on the minor (memory driver)].
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Bulkhead.Lib.Block;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;
using Bulkhead.Lib.Server;
using Bulkhead.Lib.Sys;

namespace Bulkhead.TestComponents;

internal static class BlockClientComponent
{
    public const int Read = 0x51, Write = 0x52, Stat = 0x53, Ping = 0x54, Flush = 0x55;

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Size = Message.PayloadSize)]
    private struct Longs
    {
        public long A, B, C, D, E;
    }

    public static int Run(string[] args)
    {
        ServiceRuntime.Start();
        var kv = args.Select(a => a.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        long Get(string key, long otherwise) => kv.TryGetValue(key, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : otherwise;
        string label = kv.GetValueOrDefault("label", "c0d0");
        int minor = (int)Get("minor", 0);
        var options = new BlockClientOptions
        {
            AnswerTimeoutMs = Get("timeout", BlockClientOptions.Default.AnswerTimeoutMs),
            RecoveryTimeoutMs = Get("recovery", BlockClientOptions.Default.RecoveryTimeoutMs),
            MaxAttempts = (int)Get("attempts", BlockClientOptions.Default.MaxAttempts),
            StagingBytes = (int)Get("staging", BlockClientOptions.Default.StagingBytes),
        };
        var loop = new ServerLoop { NonBlockingReplies = true };
        if (Get("ram", 0) is long ram and > 0 && !MakeRamDisk(label, minor, ram)) return 1;
        int r = BlockClient.Open(label, minor, writable: true, options, out var client);
        if (r != Err.Ok)
        {
            SysCall.Diag($"blkclient: open {label} minor {minor}: {Err.Name(r)}");
            return 1;
        }
        SysCall.Diag($"blkclient: open {label} minor {minor}: size {client!.Size} sector {client.SectorSize}");
        ServiceRuntime.InitDone();
        loop.OnAnswer = m => client.TakeLateAnswer(m); // late answers from the driver: dropped, counted
        loop.On(Read, (ref Message m) => DoRead(client, ref m));
        loop.On(Write, (ref Message m) => DoWrite(client, ref m));
        loop.On(Stat, (ref Message m) =>
        {
            m.As<Longs>() = new Longs { A = client.DriverRestarts, B = client.Reissued, C = client.Complaints, D = client.Size, E = client.SectorSize };
            return Err.Ok;
        });
        loop.On(Ping, (ref Message m) =>
        {
            m.As<Longs>() = new Longs { A = 42 };
            return Err.Ok;
        });
        loop.On(Flush, (ref Message m) =>
        {
            m.As<Longs>() = new Longs { A = client.Flush() };
            return Err.Ok;
        });
        return loop.Run() == Err.Ok ? 0 : 1;
    }

    private static int DoRead(BlockClient client, ref Message m)
    {
        var q = m.As<Longs>();
        long position = q.A, length = q.B;
        int chunk = (int)q.C;
        if (position < 0 || length < 0 || chunk <= 0 || chunk > 64 << 20) return Err.EINVAL;
        var watch = Stopwatch.StartNew();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        var buffer = new byte[chunk];
        long done = 0;
        int result = Err.Ok;
        while (done < length)
        {
            int n = (int)Math.Min(chunk, length - done);
            int got = client.Read(position + done, buffer.AsSpan(0, n));
            if (got < 0)
            {
                result = got;
                break;
            }
            sha.AppendData(buffer, 0, got);
            done += got;
            if (got < n) break;
        }
        var hash = sha.GetHashAndReset();
        Report(client, "read", position, length, result < 0 ? result : done, Convert.ToHexString(hash), watch);
        m.As<Longs>() = new Longs { A = result < 0 ? result : done, B = BinaryPrimitives.ReadInt64BigEndian(hash), C = BinaryPrimitives.ReadInt64BigEndian(hash.AsSpan(8)) };
        return Err.Ok;
    }

    private static int DoWrite(BlockClient client, ref Message m)
    {
        var q = m.As<Longs>();
        long position = q.A, length = q.B;
        int chunk = (int)(q.C & 0xFFFFFFFF), seed = (int)(q.C >> 32);
        if (position < 0 || length < 0 || chunk <= 0 || chunk > 64 << 20) return Err.EINVAL;
        var watch = Stopwatch.StartNew();
        var buffer = new byte[chunk];
        long done = 0;
        int result = Err.Ok;
        while (done < length)
        {
            int n = (int)Math.Min(chunk, length - done);
            BlockPattern.Fill(buffer.AsSpan(0, n), position + done, seed);
            int put = client.Write(position + done, buffer.AsSpan(0, n));
            if (put < 0)
            {
                result = put;
                break;
            }
            done += put;
            if (put < n) break;
        }
        Report(client, "write", position, length, result < 0 ? result : done, "-", watch);
        m.As<Longs>() = new Longs { A = result < 0 ? result : done };
        return Err.Ok;
    }

    private static void Report(BlockClient c, string what, long position, long length, long result, string sha, Stopwatch watch) =>
        SysCall.Diag($"blkclient: {what} {position} {length} -> {(result < 0 ? Err.Name((int)result) : result.ToString(CultureInfo.InvariantCulture))} sha1 {sha} " +
                     $"restarts {c.DriverRestarts} reissued {c.Reissued} complaints {c.Complaints} stale {c.StaleAnswers} us {watch.Elapsed.Ticks / 10}");

    /// <summary>Opens the minor with a plain SENDREC, sizes its RAM disk (IoctlRamSize), closes it.</summary>
    private static bool MakeRamDisk(string label, int minor, long size)
    {
        if (Bulkhead.Lib.Ds.DsClient.RetrieveLabel(label, out int ep) != Err.Ok) return false;
        foreach (var (type, req) in new[]
                 {
                     (BlockDriverCall.Open, new BlockRequest { Id = 1, Minor = minor, Access = BlockDriverCall.AccessRead | BlockDriverCall.AccessWrite }),
                     (BlockDriverCall.Ioctl, new BlockRequest { Id = 2, Minor = minor, Ioctl = BlockDriverCall.IoctlRamSize, Argument = size }),
                     (BlockDriverCall.Close, new BlockRequest { Id = 3, Minor = minor }),
                 })
        {
            var m = Message.Of(type, req);
            int r = IpcCall.SendRec(ep, ref m);
            if (r != Err.Ok || m.Type != Err.Ok)
            {
                SysCall.Diag($"blkclient: RAM disk of {size} bytes on {label} minor {minor}: {Err.Name(r != Err.Ok ? r : m.Type)}");
                return false;
            }
        }
        return true;
    }
}
