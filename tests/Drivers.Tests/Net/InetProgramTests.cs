// Bulkhead's network programs (ping, daytime, daytimed, wget, nc: src/Commands) through INET's
// socket calls and a real driver, against real Linux programs in a namespace the test makes
// (TapLink; root only): ping toward Linux, a socat daytime server, python3's http.server, and
// Linux clients toward Bulkhead's daytime server and nc. Every transfer is checked byte for
// byte by SHA-256 on both sides; large transfers go ≥ 64 MiB, and one survives the driver being
// killed every second (thesis §4.3.1, Fig. 5.16's workload). Each on both cards.
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Net;

public sealed class InetProgramTests : IDisposable
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly List<Process> _servers = [];
    private readonly List<string> _dirs = [];
    private InetTapKit? _kit;

    public InetProgramTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        foreach (var p in _servers)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        _kit?.Dispose();
        foreach (var d in _dirs) Directory.Delete(d, true);
    }

    private InetTapKit Boot(string driver, bool killedOften = false) => _kit = InetTapKit.Boot(_output, driver, killedOften);

    private (int Status, string Stdout, string Stderr) Run(int timeoutMs, params string[] args)
    {
        var r = UserProgramRun.Run(_kit!.Rs.Sys.Kernel, timeoutMs, args);
        _output.WriteLine($"$ {string.Join(' ', args)}  → exit {r.Status}\n{r.Stdout}{r.Stderr}");
        return r;
    }

    private void Serve(string[] command, string? dir = null)
    {
        _servers.Add(_kit!.Tap.Serve(command, dir));
    }

    /// <summary>A directory with a file of <paramref name="bytes"/> random bytes; its SHA-256.</summary>
    private (string Dir, string Sha) RandomFile(string name, long bytes)
    {
        string dir = Directory.CreateTempSubdirectory("bulkhead-http-").FullName;
        _dirs.Add(dir);
        string sha = Bulkhead.Host.Bench.NetInstance.WriteSeededFile(Path.Combine(dir, name), bytes);
        // Readable by python3's http.server whatever uid it runs as.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        return (dir, sha);
    }

    /// <summary>Waits until a Linux TCP server listens on <paramref name="port"/> in the namespace.</summary>
    private void WaitListening(int port) =>
        TestSystem.WaitUntil(() => _kit!.Tap.Exec(["ss", "-ltnH", $"sport = :{port}"]).Stdout.Trim().Length > 0, $"a Linux server on port {port}");

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void Ping_LinuxAnswersEveryRequest(string driver)
    {
        var kit = Boot(driver);
        var (status, stdout, _) = Run(30_000, "ping", "-c", "5", "-i", "100", kit.Linux);
        Assert.Equal(0, status);
        Assert.Contains("5 packets transmitted, 5 received, 0% packet loss", stdout);
        Assert.Equal(5, stdout.Split('\n').Count(l => l.Contains($"bytes from {kit.Linux}: icmp_seq=", StringComparison.Ordinal)));
    }

    [TapFact]
    public void Ping_NobodyThere_ReportsLossAndFails()
    {
        Boot("rtl8139");
        var (status, stdout, _) = Run(30_000, "ping", "-c", "2", "-i", "100", "-W", "300", "10.0.3.99");
        Assert.Equal(1, status);
        Assert.Contains("2 packets transmitted, 0 received, 100% packet loss", stdout);
    }

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void Daytime_FromLinuxSocatServer(string driver)
    {
        var kit = Boot(driver);
        Serve(["socat", "TCP-LISTEN:13,reuseaddr,fork", "SYSTEM:echo bulkhead-daytime-$(date -u +%Y)"]);
        WaitListening(13);
        var (status, stdout, _) = Run(30_000, "daytime", kit.Linux);
        Assert.Equal(0, status);
        Assert.Equal($"bulkhead-daytime-{DateTime.UtcNow.Year}", stdout.Trim());
    }

    [TapFact]
    public void Daytime_NoServer_ConnectionRefused()
    {
        var kit = Boot("rtl8139");
        var (status, _, stderr) = Run(30_000, "daytime", kit.Linux, "14");
        Assert.Equal(1, status);
        Assert.Contains("ECONNREFUSED", stderr);
    }

    [TapFact]
    public void Daytime_NobodyAtTheAddress_GivesUpAfterItsTimeout()
    {
        Boot("rtl8139");
        var clock = Stopwatch.StartNew();
        var (status, _, stderr) = Run(60_000, "daytime", "10.0.3.99"); // no ARP answer: SYNs go nowhere
        Assert.Equal(1, status);
        Assert.Contains("ETIMEDOUT", stderr);
        // daytime waits 10 s for the connection (TCP alone would try for about a minute).
        Assert.InRange(clock.Elapsed.TotalSeconds, 9, 30);
    }

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void Daytimed_ServesManyLinuxClientsAtOnce(string driver)
    {
        var kit = Boot(driver);
        const int Clients = 120;
        using var server = UserProgramRun.Start(kit.Rs.Sys.Kernel, "daytimed", "-n", Clients.ToString(CultureInfo.InvariantCulture));
        TestSystem.WaitUntil(() => kit.Tap.Exec(["python3", "-c", ProbeScript, kit.Inet, "13"]).Stdout.Trim() == "open", "daytimed to listen");
        // The probe took one connection; the rest come at once from Linux, each held open until answered.
        var (code, stdout, stderr) = kit.Tap.Exec(["python3", "-c", ManyClientsScript, kit.Inet, (Clients - 1).ToString(CultureInfo.InvariantCulture)], 120_000);
        _output.WriteLine(stdout + stderr);
        Assert.Equal(0, code);
        Assert.Equal($"answered {Clients - 1}", stdout.Trim());
        var (status, _, err) = server.Wait(30_000);
        Assert.True(status == 0, err);
    }

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void Wget_64MiBFromLinuxHttpServer_ByteExact(string driver)
    {
        var kit = Boot(driver);
        const long Size = 64L << 20;
        var (dir, sha) = RandomFile("big.bin", Size);
        Serve(["python3", "-m", "http.server", "8080", "--bind", kit.Linux], dir);
        WaitListening(8080);
        var (status, stdout, stderr) = Run(300_000, "wget", "-q", $"http://{kit.Linux}:8080/big.bin");
        Assert.True(status == 0, stderr);
        Assert.Contains($"HTTP 200 OK: {Size} bytes in ", stdout);
        Assert.Contains($"sha256 {sha}", stdout);
    }

    [TapFact]
    public void Wget_MissingFile_Reports404AndFails()
    {
        var kit = Boot("rtl8139");
        var (dir, _) = RandomFile("small.bin", 1000);
        Serve(["python3", "-m", "http.server", "8080", "--bind", kit.Linux], dir);
        WaitListening(8080);
        var (status, stdout, _) = Run(60_000, "wget", $"http://{kit.Linux}:8080/none.bin");
        Assert.Equal(1, status);
        Assert.Contains("HTTP 404", stdout);
    }

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void Wget_64MiB_SurvivesTheDriverKilledEverySecond(string driver)
    {
        var kit = Boot(driver, killedOften: true);
        const long Size = 64L << 20;
        var (dir, sha) = RandomFile("big.bin", Size);
        Serve(["python3", "-m", "http.server", "8080", "--bind", kit.Linux], dir);
        WaitListening(8080);
        using var wget = UserProgramRun.Start(kit.Rs.Sys.Kernel, "wget", "-q", "-T", "120", $"http://{kit.Linux}:8080/big.bin");
        int kills = 0;
        while (!wget.Exited && kills < 120)
        {
            Thread.Sleep(1000);
            if (wget.Exited) break;
            if (kit.Rs.Row(kit.Label) is { Length: > 2 } row && row[2] == "running" &&
                int.TryParse(row[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int ep) && kit.Rs.Sys.Kernel.Kill(ep, 9) == 0)
                kills++;
        }
        var (status, stdout, stderr) = wget.Wait(300_000);
        _output.WriteLine($"{kills} kills; {stdout}{stderr}");
        Assert.True(status == 0, stderr);
        Assert.True(kills >= 3, $"only {kills} kills: the download was too quick to test recovery");
        Assert.Contains($"HTTP 200 OK: {Size} bytes in ", stdout);
        Assert.Contains($"sha256 {sha}", stdout);
    }

    [TapTheory]
    [InlineData("dp8390")]
    [InlineData("rtl8139")]
    public void Nc_UploadsToLinux_AndLinuxUploadsToNcListener_ByteExact(string driver)
    {
        var kit = Boot(driver);
        var data = new byte[8 << 20];
        new Random(7).NextBytes(data);
        string sha = Convert.ToHexStringLower(SHA256.HashData(data));

        // Bulkhead nc connects to a Linux sink that prints the SHA-256 of what it got.
        var sink = kit.Tap.Start(["python3", "-c", Bulkhead.Host.Bench.NetInstance.SinkScript, kit.Linux, "7000"]);
        _servers.Add(sink);
        WaitListening(7000);
        using (var nc = UserProgramRun.Start(kit.Rs.Sys.Kernel, keepStdinOpen: true, "nc", kit.Linux, "7000"))
        {
            nc.Stdin.Write(data);
            nc.CloseStdin();
            var (status, _, stderr) = nc.Wait(120_000);
            Assert.True(status == 0, stderr);
        }
        Assert.True(sink.WaitForExit(30_000), "the Linux sink did not see the end of the stream");
        Assert.Equal($"{data.Length} {sha}", string.Join(' ', sink.StandardOutput.ReadToEnd().Trim().Split(' ')[..2]));

        // Linux connects to Bulkhead's nc -l and sends; nc writes it to stdout.
        using var listener = UserProgramRun.Start(kit.Rs.Sys.Kernel, "nc", "-l", "7001");
        var (code, _, err) = kit.Tap.Exec(["python3", "-c", SourceScript, kit.Inet, "7001"], 120_000, data);
        Assert.True(code == 0, err);
        var (st, received, stderr2) = listener.WaitBytes(120_000);
        Assert.True(st == 0, stderr2);
        Assert.Equal(data.Length, received.Length);
        Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(received)));
    }

    // argv: address port. Prints "open" when a TCP connection is accepted (and read to its end).
    private const string ProbeScript = """
        import socket, sys
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect((sys.argv[1], int(sys.argv[2])))
            s.recv(100)
            print("open")
        except OSError as e:
            print("closed", e)
        """;

    // argv: address count. Opens COUNT connections at once, then reads each to its end.
    private const string ManyClientsScript = """
        import socket, sys
        addr, n = sys.argv[1], int(sys.argv[2])
        socks = []
        for i in range(n):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((addr, 13))
            socks.append(s)
        ok = 0
        for s in socks:
            s.setblocking(True)
            s.settimeout(60)
            data = b""
            while True:
                try:
                    b = s.recv(200)
                except OSError as e:
                    print("error", e, file=sys.stderr)
                    break
                if not b: break
                data += b
            if b"UTC" in data: ok += 1
        print("answered", ok)
        """;

    // argv: address port. Connects (again while refused: the listener may not be up yet), sends
    // all of stdin, and closes.
    private const string SourceScript = """
        import socket, sys, time
        data = sys.stdin.buffer.read()
        deadline = time.monotonic() + 20
        while True:
            try:
                s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline: raise
                time.sleep(0.1)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(1 << 16): pass
        s.close()
        """;
}
