// wget [-O FILE] [-q] [-T TIMEOUT_S] http://ADDRESS[:PORT]/PATH: HTTP/1.1 GET of one URL
// through INET (RFC 9112: Host, Connection: close; a body by Content-Length, chunked transfer
// coding, or until the server closes). -O - writes the body to stdout; otherwise the body is
// only counted (a Bulkhead program has no file system yet; -O with a file name is refused). At
// the end it prints the status, bytes, time, throughput and the SHA-256 of the body (to stderr
// with -O -), and on long transfers a progress line every second on stderr (not with -q).
// Exit 0 for a 2xx answer with the whole body, 1 otherwise (the reason named), 2 on bad usage.
// Hosts are IPv4 addresses: Bulkhead has no resolver.
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;

namespace Bulkhead.Commands.Wget;

public static class WgetCommand
{
    private const string Usage = "usage: wget [-O -] [-q] [-T TIMEOUT_S] http://ADDRESS[:PORT]/PATH";
    private const int MaxHeaderBytes = 64 * 1024;

    public static int Run(string[] args)
    {
        bool toStdout = false, quiet = false;
        int timeoutS = 60;
        string? url = null;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-O" when i + 1 < args.Length && args[i + 1] == "-": toStdout = true; i++; break;
                case "-O":
                    Console.Error.WriteLine("wget: -O takes only '-' (stdout): Bulkhead programs have no file system yet");
                    return 2;
                case "-q": quiet = true; break;
                case "-T" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out timeoutS) && timeoutS > 0: i++; break;
                default: url = url is null ? args[i] : ""; break;
            }
        }
        if (url is null || !Http.TryParseUrl(url, out uint address, out int port, out string path, out string host))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var report = toStdout ? Console.Error : Console.Out;
        using var s = InetSocket.Tcp();
        s.TimeoutMs = timeoutS * 1000;
        var clock = Stopwatch.StartNew();
        int r = s.Connect(address, port);
        if (r != Err.Ok)
        {
            Console.Error.WriteLine($"wget: connect to {host}: {Err.Name(r)}");
            return 1;
        }
        r = s.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bulkhead-wget\r\nAccept: */*\r\nConnection: close\r\n\r\n"));
        if (r < 0)
        {
            Console.Error.WriteLine($"wget: send: {Err.Name(r)}");
            return 1;
        }
        var reader = new Http.Reader(s);
        if (reader.ReadHead(MaxHeaderBytes, out var head, out string? bad) != Err.Ok || head is null)
        {
            Console.Error.WriteLine($"wget: {bad}");
            return 1;
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var stdout = toStdout ? Console.OpenStandardOutput() : null;
        long bytes = 0, lastShown = 0;
        var progress = Stopwatch.StartNew();
        string? error = reader.ReadBody(head, chunk =>
        {
            sha.AppendData(chunk);
            stdout?.Write(chunk);
            bytes += chunk.Length;
            if (!quiet && progress.ElapsedMilliseconds >= 1000)
            {
                double rate = (bytes - lastShown) / progress.Elapsed.TotalSeconds / 1e6;
                Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                    $"\r{bytes / 1048576.0,10:F1} MiB{(head.Length > 0 ? $" of {head.Length / 1048576.0:F1} MiB" : "")}  {rate,6:F1} MB/s   "));
                lastShown = bytes;
                progress.Restart();
            }
        });
        stdout?.Flush();
        double seconds = clock.Elapsed.TotalSeconds;
        if (!quiet && lastShown > 0) Console.Error.WriteLine();
        string hash = Convert.ToHexStringLower(sha.GetHashAndReset());
        report.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wget: HTTP {head.Status} {head.Reason}: {bytes} bytes in {seconds:F2} s ({bytes / seconds / 1e6:F2} MB/s), sha256 {hash}"));
        report.Flush();
        if (error is not null)
        {
            Console.Error.WriteLine($"wget: {error}");
            return 1;
        }
        return head.Status is >= 200 and < 300 ? 0 : 1;
    }
}
