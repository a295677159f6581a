// The file server's client of a block driver (src/Lib/Block/BlockClient*.cs; docs/block.md,
// "The client") in the process that uses it as MFS will: `blkclient` (tests/Components/
// BlockClientComponent.cs), a service started by RS under a policy (written here) that names
// its driver in `driver`, running a ServerLoop that a puppet steers with requests. Against the
// real at_wini on the ATA model — the image file is the oracle, filled on the host with a
// position-keyed pattern (BlockKit.DiskPattern) — and the memory driver: byte-exact reads and
// writes at many sizes and positions (split at the staging buffer); at_wini killed with SIGKILL,
// or stopped with SIGSTOP, again and again in the middle of a 64 MiB read and of a 64 MiB
// write read back: the same SHA-1, restarts and reissues counted; a driver that never comes
// back: EIO within the bound while the client keeps answering RS and its own clients; and a
// block driver that misbehaves once (tests/Components/BadBlockDriver.cs: a wrong request type,
// a wrong Id, too many bytes, a request instead of an answer, no answer): complained about,
// replaced by RS, the data read intact.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Machine;
using Bulkhead.Machine.Storage;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Block;

public sealed class BlockClientTests : IDisposable
{
    private const int Read = 0x51, Write = 0x52, Stat = 0x53, Ping = 0x54;
    private const int Seed = 1;
    private const long Mib = 1L << 20;

    private const string Policies = """
        driver blkclient {
            ipc calls SEND RECEIVE SENDREC NOTIFY SENDNB SENDA;
            ipc targets DS RS c0d0 memory badblk;
            ipc kernel SETGRANT SAFECOPY SETALARM TIMES SYSCTL GETINFO;
            driver c0d0 memory badblk;
        };
        driver blkmute {
            ipc calls SEND RECEIVE SENDREC NOTIFY SENDNB SENDA;
            ipc targets DS RS badblk;
            ipc kernel SETGRANT SAFECOPY SETALARM TIMES SYSCTL GETINFO;
        };
        driver badblk {
            ipc calls SEND RECEIVE SENDREC NOTIFY SENDNB SENDA;
            ipc targets DS RS;
            ipc kernel SETGRANT SAFECOPY SETALARM TIMES SYSCTL GETINFO;
        };
        """;

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bulkhead-bclient-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private readonly Board _board = new();
    private DiskImage? _image;
    private RsSystem? _rs;

    public BlockClientTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_dir);
        File.WriteAllText(PolicyFile, Policies);
    }

    public void Dispose()
    {
        _rs?.Dispose();
        _image?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string PolicyFile => Path.Combine(_dir, "blk.conf");
    private RsSystem Rs => _rs!;

    /// <summary>A machine with an ATA disk of <paramref name="bytes"/> whose first
    /// <paramref name="filled"/> bytes hold the pattern, and c0d0 (at_wini) up.</summary>
    private void BootAtWini(long bytes, long filled)
    {
        _image = DiskImage.Open(Path.Combine(_dir, "disk.img"), bytes);
        for (long at = 0; at < filled; at += Mib) Assert.True(_image.Write(at, BlockKit.DiskPattern(at, (int)Math.Min(Mib, filled - at), Seed)));
        _rs = new RsSystem(_output, _board, kernel => BlockKit.PlugAta(_board, _image, kernel), "max_failures=50");
        UpSpec($"label=c0d0;binary={RsSystem.Image};args=at_wini;policy=at_wini", "c0d0");
    }

    private void UpSpec(string spec, string label)
    {
        var up = Rs.Manager.Ask("rs-spec up " + spec);
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState(label, "running");
    }

    /// <summary>Starts blkclient with <paramref name="args"/> (label=…, minor=…, …) and a 1 s
    /// heartbeat period; returns its endpoint.</summary>
    private int UpClient(string args, string policy = "blkclient")
    {
        UpSpec($"label=blkclient;binary={TestSystem.TestProc};args=blkclient {args};policy={policy};isolation={PolicyFile};period=1000", "blkclient");
        return RsKit.Ep(Rs.Row("blkclient"));
    }

    /// <summary>One request to blkclient: its a (result), and the line it logged for reads and writes.</summary>
    private (long Result, string Line) Op(int client, int type, long a, long b, long c, int timeoutMs = 60_000)
    {
        var answer = Puppet.Await(Rs.Client.AskAsync($"sendrec3 {client} {type} {a} {b} {c}"), timeoutMs);
        return Parse(answer, type, a, b);
    }

    private (long Result, string Line) Parse(string answer, int type, long a, long b)
    {
        Assert.True(Puppet.Field(answer, 1) == "OK" && Puppet.Field(answer, 3) == "0", answer);
        long result = Puppet.LongField(answer, 4);
        string what = type == Read ? "read" : type == Write ? "write" : "";
        string line = what.Length == 0 ? "" :
            Rs.Sys.Console.Lines.LastOrDefault(l => l.Contains($"blkclient: {what} {a} {b} -> ", StringComparison.Ordinal)) ?? "";
        return (result, line);
    }

    private static string Sha1Of(string line) => Field(line, "sha1");

    private static long Count(string line, string name) => long.Parse(Field(line, name), CultureInfo.InvariantCulture);

    private static string Field(string line, string name)
    {
        var w = line.Split(' ');
        int i = Array.IndexOf(w, name);
        return i >= 0 && i + 1 < w.Length ? w[i + 1] : "";
    }

    private long[] Stats(int client)
    {
        var a = Rs.Client.Ask($"sendrec3 {client} {Stat} 0 0 0");
        return [Puppet.LongField(a, 4), Puppet.LongField(a, 5), Puppet.LongField(a, 6)];
    }

    private string HostSha1(long position, long length)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA1);
        var b = new byte[Mib];
        for (long done = 0; done < length; done += Mib)
        {
            int n = (int)Math.Min(Mib, length - done);
            Assert.True(_image!.Read(position + done, b.AsSpan(0, n)));
            sha.AppendData(b, 0, n);
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    [Fact]
    public void AtWini_ManySizesAndPositions_ByteExact_AndBadRangesRefused()
    {
        BootAtWini(16 * Mib, 16 * Mib);
        int client = UpClient("label=c0d0 minor=0 staging=65536");
        (long Position, long Length, long Chunk)[] cases =
        [
            (0, 512, 512), (512, 1024, 1024), (3584, 4096, 4096), (7 * 512, 65536 - 512, 65536), (65536, 65536, 65536),
            (65536 - 512, 65536 + 1024, 65536 + 1024), (Mib + 512, 200 * 1024, 200 * 1024), (3 * Mib, Mib + 512, 7 * 512),
            (5 * Mib - 1024, 2 * Mib, 2 * Mib), (16 * Mib - 4096, 4096, 4096),
        ];
        int seed = 10;
        foreach (var (position, length, chunk) in cases)
        {
            // What is on the disk reads back exactly, then a new pattern written lands exactly there.
            var (got, line) = Op(client, Read, position, length, chunk);
            Assert.Equal(length, got);
            Assert.Equal(HostSha1(position, length), Sha1Of(line));
            var (put, _) = Op(client, Write, position, length, chunk | ((long)++seed << 32));
            Assert.Equal(length, put);
            Assert.Equal(BlockKit.PatternSha1(position, length, seed), HostSha1(position, length));
            (got, line) = Op(client, Read, position, length, 65536);
            Assert.Equal((length, HostSha1(position, length)), (got, Sha1Of(line)));
        }
        // Past the end: short, then nothing; off the sector grid: EINVAL, nothing sent.
        Assert.Equal(1024, Op(client, Read, 16 * Mib - 1024, 8192, 8192).Result);
        Assert.Equal(0, Op(client, Read, 16 * Mib, 4096, 4096).Result);
        Assert.Equal(Err.EINVAL, Op(client, Read, 100, 512, 512).Result);
        Assert.Equal(Err.EINVAL, Op(client, Read, 0, 1000, 1000).Result);
        Assert.Equal(Err.EINVAL, Op(client, Write, 512, 700, 700 | (1L << 32)).Result);
        Assert.Equal([0, 0, 0], Stats(client));
    }

    [Fact]
    public void Memory_ReadAnsweredWithoutItsData_ReadsAsZeros_NotWhatTheStagingBufferHeld()
    {
        // The driver answers every second data request OK without moving anything
        // (docs/block.md, "Misbehaving on purpose"): the write lands, the read after it does not.
        _rs = new RsSystem(_output);
        UpSpec($"label=memory;binary={RsSystem.Image};args=memory fault=noop,every=2,minor=7;policy=memory", "memory");
        int client = UpClient($"label=memory minor=7 ram={Mib} staging=16384 attempts=1");
        Assert.Equal(16384, Op(client, Write, 0, 16384, 16384 | (50L << 32)).Result);
        var (got, line) = Op(client, Read, 0, 16384, 16384);
        using var sha1 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA1);
        sha1.AppendData(new byte[16384]);
        Assert.Equal((16384L, Convert.ToHexString(sha1.GetHashAndReset())), (got, Sha1Of(line)));
        (got, line) = Op(client, Read, 0, 16384, 16384);
        Assert.Equal((16384L, BlockKit.PatternSha1(0, 16384, 50)), (got, Sha1Of(line)));
    }

    [Fact]
    public void Memory_RamDisk_ManySizes_ByteExact()
    {
        _rs = new RsSystem(_output);
        UpSpec($"label=memory;binary={RsSystem.Image};args=memory;policy=memory", "memory");
        int client = UpClient($"label=memory minor=7 ram={Mib} staging=16384");
        int seed = 30;
        foreach (var (position, length) in new[] { (0L, 512L), (512L, 16384L), (16384L - 512, 16384L + 1024), (Mib / 2 - 512, Mib / 2 + 512), (Mib - 2048, 2048L) })
        {
            Assert.Equal(length, Op(client, Write, position, length, 8192 | ((long)++seed << 32)).Result);
            var (got, line) = Op(client, Read, position, length, 4096);
            Assert.Equal((length, BlockKit.PatternSha1(position, length, seed)), (got, Sha1Of(line)));
        }
        Assert.Equal(2048, Op(client, Read, Mib - 2048, 8192, 8192).Result);
        Assert.Equal([0, 0, 0], Stats(client));
    }

    /// <summary>Runs a blkclient request while the current c0d0 is sent <paramref name="signal"/>
    /// <paramref name="kills"/> times: each time once that instance has made
    /// <paramref name="traps"/> more traps (it is in the middle of the transfer), then waits for
    /// RS to have a new instance running. Returns the answer and the signals sent.</summary>
    private (long Result, string Line, int Signalled) UnderFire(int client, int type, long a, long b, long c, int signal, int kills, long traps = 1500)
    {
        int ep = RsKit.Ep(Rs.Row("c0d0"));
        long start = Rs.Sys.Find(ep)!.Value.Traps;
        var pending = Rs.Client.AskAsync($"sendrec3 {client} {type} {a} {b} {c}");
        int signalled = 0;
        while (!pending.IsCompleted && signalled < kills)
        {
            while (!pending.IsCompleted && Rs.Sys.Find(ep) is { } p && p.Traps < start + traps) Thread.Sleep(1);
            if (pending.IsCompleted) break;
            Assert.Equal(Err.Ok, Rs.Sys.Kernel.Kill(ep, signal));
            signalled++;
            _output.WriteLine($"signal {signal} to c0d0 ({ep}) after {traps} traps");
            int old = ep;
            TestSystem.WaitUntil(() => Rs.Row("c0d0") is { Length: > 2 } r && r[2] == "running" && (ep = RsKit.Ep(r)) != old, "c0d0 replaced", 30_000);
            start = Rs.Sys.Find(ep)?.Traps ?? 0;
        }
        var (result, line) = Parse(Puppet.Await(pending, 120_000), type, a, b);
        return (result, line, signalled);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(19)]
    public void AtWini_SignalledAgainAndAgain_During64MiBRead_SameSha1(int signal)
    {
        const long Length = 64 * Mib;
        BootAtWini(72 * Mib, Length);
        int client = UpClient("label=c0d0 minor=0 timeout=1500");
        string expected = BlockKit.PatternSha1(0, Length, Seed);

        long before = Rs.Sys.Find(RsKit.Ep(Rs.Row("c0d0")))!.Value.Traps;
        var quiet = Stopwatch.StartNew();
        var (got, line) = Op(client, Read, 0, Length, (int)Mib);
        quiet.Stop();
        long undisturbed = Rs.Sys.Find(RsKit.Ep(Rs.Row("c0d0")))!.Value.Traps - before;
        _output.WriteLine($"undisturbed: {undisturbed} driver traps");
        Assert.Equal((Length, expected), (got, Sha1Of(line)));

        // The signals land after a tenth of the read's traps each, however few traps a transfer
        // takes; a fast machine may finish the read before the later ones (the undisturbed read
        // can take a fifth of a second), so at least one must land.
        var fire = Stopwatch.StartNew();
        var (result, fired, signalled) = UnderFire(client, Read, 0, Length, Mib, signal, kills: 3, traps: undisturbed / 10);
        fire.Stop();
        _output.WriteLine(fired);
        Assert.Equal((Length, expected), (result, Sha1Of(fired)));
        Assert.True(signalled >= 1, "no signal landed during the read");
        Assert.True(Count(fired, "restarts") >= signalled && Count(fired, "reissued") > 0, fired);
        if (signal == 19) Assert.True(Count(fired, "complaints") >= 1, fired);
        double quietMBs = Length / 1e6 / quiet.Elapsed.TotalSeconds, fireMBs = Length / 1e6 / fire.Elapsed.TotalSeconds;
        _output.WriteLine($"64 MiB read: {quietMBs:F1} MB/s undisturbed, {fireMBs:F1} MB/s with {signalled} × signal {signal}: ratio {fireMBs / quietMBs:F2}");
        Assert.Equal(signalled, Rs.Sys.Console.Lines.Count(l => l.Contains("blockclient: c0d0 minor 0: driver restarted", StringComparison.Ordinal)));
    }

    [Fact]
    public void AtWini_KilledAgainAndAgain_During64MiBWriteAndReadBack_DataOnDisk()
    {
        const long Length = 64 * Mib;
        BootAtWini(72 * Mib, 0);
        int client = UpClient("label=c0d0 minor=0 timeout=1500");
        const int NewSeed = 7;
        var (put, wline, wkills) = UnderFire(client, Write, 0, Length, Mib | ((long)NewSeed << 32), 9, kills: 3, traps: 800);
        _output.WriteLine(wline);
        Assert.Equal(Length, put);
        string expected = BlockKit.PatternSha1(0, Length, NewSeed);
        var (got, rline, rkills) = UnderFire(client, Read, 0, Length, Mib, 9, kills: 3, traps: 800);
        _output.WriteLine(rline);
        Assert.Equal((Length, expected), (got, Sha1Of(rline)));
        Assert.Equal(expected, HostSha1(0, Length));
        // A write can end before all three kills land (the driver's trap count is the trigger
        // and the write path needs fewer traps); at least one must land in each direction.
        Assert.True(wkills >= 1 && rkills >= 1, $"{wkills} + {rkills} kills landed");
        Assert.True(Count(rline, "restarts") >= wkills + rkills && Count(rline, "reissued") > 0, rline);
    }

    /// <summary>The driver is replaced while the client is idle (the DS notification goes to the
    /// client's loop, not to the client): the next request finds the new instance at once,
    /// with no answer deadline to sit out and no complaint.</summary>
    [Fact]
    public void AtWini_KilledWhileTheClientIsIdle_NextRequestGoesToTheNewInstance()
    {
        BootAtWini(16 * Mib, 4 * Mib);
        int client = UpClient("label=c0d0 minor=0");
        Assert.Equal(Mib, Op(client, Read, 0, Mib, Mib).Result);
        int ep = RsKit.Ep(Rs.Row("c0d0"));
        Assert.Equal(Err.Ok, Rs.Sys.Kernel.Kill(ep, 9));
        TestSystem.WaitUntil(() => Rs.Row("c0d0") is { Length: > 2 } r && r[2] == "running" && RsKit.Ep(r) != ep, "c0d0 replaced", 30_000);
        Thread.Sleep(600);
        var clock = Stopwatch.StartNew();
        var (got, line) = Op(client, Read, Mib, 3 * Mib, Mib);
        clock.Stop();
        Assert.Equal((3 * Mib, HostSha1(Mib, 3 * Mib)), (got, Sha1Of(line)));
        Assert.True(clock.ElapsedMilliseconds < 3000, $"{clock.ElapsedMilliseconds} ms");
        Assert.Equal([1, 0, 0], Stats(client));
    }

    [Fact]
    public void AtWini_NeverComingBack_GivesEioWithinTheBound_AndTheClientStillAnswers()
    {
        BootAtWini(72 * Mib, 0);
        int client = UpClient("label=c0d0 minor=0 timeout=1500 recovery=3000");
        int first = RsKit.Ep(Rs.Row("blkclient"));
        // Small requests (4 KiB each), so that the read is surely in progress when the driver goes.
        var pending = Rs.Client.AskAsync($"sendrec3 {client} {Read} 0 {64 * Mib} 4096");
        Thread.Sleep(300);
        var clock = Stopwatch.StartNew();
        var down = Rs.Manager.Ask("rs down c0d0");
        Assert.Equal("OK", Puppet.Field(down, 1));
        // A request to the client while it waits for its driver is kept and answered after.
        var ping = Rs.Manager.AskAsync($"sendrec3 {client} {Ping} 0 0 0");
        var (result, line) = Parse(Puppet.Await(pending, 30_000), Read, 0, 64 * Mib);
        clock.Stop();
        _output.WriteLine($"{line} after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(Err.EIO, result);
        Assert.True(clock.ElapsedMilliseconds is >= 3000 and < 8000, $"EIO after {clock.ElapsedMilliseconds} ms");
        Assert.Equal("42", Puppet.Field(Puppet.Await(ping), 4));
        Assert.Equal("42", Puppet.Field(Rs.Client.Ask($"sendrec3 {client} {Ping} 0 0 0"), 4));
        // It answered RS's heartbeats all along: the same instance, never restarted.
        var row = Rs.Row("blkclient");
        Assert.Equal((first, "running", 0), (RsKit.Ep(row), row[2], RsKit.Restarts(row)));
        Assert.True(Rs.Sys.Console.Has("blockclient: c0d0: the driver did not come back within 3000 ms: EIO"), Rs.Console());
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("wrongid")]
    [InlineData("count")]
    [InlineData("request")]
    [InlineData("silent")]
    public void MisbehavingDriver_IsComplainedAbout_Replaced_AndTheDataIsIntact(string fault)
    {
        _rs = new RsSystem(_output, "max_failures=50");
        UpSpec($"label=badblk;binary={TestSystem.TestProc};args=badblk fault={fault} after=3;policy=badblk;isolation={PolicyFile}", "badblk");
        int client = UpClient("label=badblk minor=0 timeout=1000 staging=65536");
        const long Length = 4 * Mib;
        var (got, line) = Op(client, Read, 0, Length, 256 * 1024);
        _output.WriteLine(line);
        Assert.Equal((Length, BlockKit.PatternSha1(0, Length, Seed)), (got, Sha1Of(line)));
        Assert.True(Rs.Sys.Console.Has($"badblk: fault {fault} at read 3"), Rs.Console());
        var stats = Stats(client);
        Assert.True(stats[0] == 1 && stats[1] >= 1 && stats[2] == 1, $"restarts, reissued, complaints: {string.Join(' ', stats)}");
        Assert.Equal(1, RsKit.Restarts(Rs.WaitRestarts("badblk", 1)));
        Assert.True(Rs.Sys.Console.Has("blockclient: badblk (") && Rs.Sys.Console.Has("complained to RS"), Rs.Console());
    }

    /// <summary>A client whose policy does not name the driver in `driver`: RS refuses its
    /// complaint (EPERM), the client sends the request again to the same instance — which
    /// answers this time — and drops the late answer to the first one, if any comes.</summary>
    [Fact]
    public void SilentDriver_ComplaintRefused_RequestSentAgainToTheSameInstance()
    {
        _rs = new RsSystem(_output);
        UpSpec($"label=badblk;binary={TestSystem.TestProc};args=badblk fault=silent after=2;policy=badblk;isolation={PolicyFile}", "badblk");
        int driver = RsKit.Ep(Rs.Row("badblk"));
        int client = UpClient("label=badblk minor=0 timeout=500 staging=65536", policy: "blkmute");
        var (got, line) = Op(client, Read, 0, Mib, Mib);
        Assert.Equal((Mib, BlockKit.PatternSha1(0, Mib, Seed)), (got, Sha1Of(line)));
        Assert.Equal([0, 1, 1], Stats(client));
        Assert.True(Rs.Sys.Console.Has("failed: no answer within 500 ms; complaint to RS refused: EPERM"), Rs.Console());
        var row = Rs.Row("badblk");
        Assert.Equal((driver, 0), (RsKit.Ep(row), RsKit.Restarts(row)));
    }
}
