// nc ADDRESS PORT | nc -l [-p] PORT: a TCP connection between stdin/stdout and the network
// through INET — connect to ADDRESS:PORT, or listen on PORT and take one connection. What
// comes from the peer goes to stdout; what comes on stdin goes to the peer, and the end of
// stdin ends the sending direction (a FIN), as `nc -N` does. nc exits when the peer has
// closed its side and stdin is done (or at once on a reset). Exit 0 on a clean end, 1 on an
// error (named), 2 on bad usage.
// stdin is a host descriptor that INET's poll cannot see, so a reader thread moves it into a
// bounded queue (never touching IPC: the socket library is used from the main thread only),
// and the main thread polls the socket with a short timeout while stdin has nothing queued.
using System.Collections.Concurrent;
using System.Globalization;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;

namespace Bulkhead.Commands.Nc;

public static class NcCommand
{
    private const string Usage = "usage: nc ADDRESS PORT | nc -l [-p] PORT";
    /// <summary>Chunks of stdin waiting to be sent; the reader blocks beyond (bounded memory).</summary>
    private const int QueuedChunks = 16;
    private const int PollMs = 20;

    public static int Run(string[] args)
    {
        var words = args.Skip(1).Where(a => a != "-p").ToList();
        bool listen = words.Remove("-l");
        if (words.Count != (listen ? 1 : 2) ||
            !int.TryParse(words[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535 ||
            (!listen && !Ip4.TryParse(words[0], out _)))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        InetSocket? s;
        int r;
        if (listen)
        {
            using var l = InetSocket.Tcp();
            r = l.Bind(0, port);
            if (r == Err.Ok) r = l.Listen(1);
            if (r == Err.Ok) r = l.Accept(out s);
            else s = null;
        }
        else
        {
            Ip4.TryParse(words[0], out uint address);
            s = InetSocket.Tcp();
            r = s.Connect(address, port);
        }
        if (r != Err.Ok || s is null)
        {
            Console.Error.WriteLine($"nc: {(listen ? $"listen on port {port}" : $"connect to {words[0]}:{port}")}: {Err.Name(r)}");
            return 1;
        }
        using (s) return Copy(s);
    }

    private static int Copy(InetSocket s)
    {
        using var input = new BlockingCollection<byte[]>(QueuedChunks);
        var reader = new Thread(() =>
        {
            using var stdin = Console.OpenStandardInput();
            var buf = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = stdin.Read(buf, 0, buf.Length)) > 0) input.Add(buf[..n]);
            }
            catch (IOException) { }
            input.CompleteAdding();
        }) { IsBackground = true, Name = "nc-stdin" };
        reader.Start();

        using var stdout = Console.OpenStandardOutput();
        var recv = new byte[InetCall.MaxTransfer];
        var items = new PollItem[] { new(s, InetCall.PollIn) };
        bool sendDone = false, recvDone = false;
        while (!recvDone || !sendDone)
        {
            if (!sendDone)
            {
                while (input.TryTake(out var chunk))
                {
                    int w = s.Send(chunk);
                    if (w < 0)
                    {
                        Console.Error.WriteLine($"nc: send: {Err.Name(w)}");
                        return 1;
                    }
                }
                if (input.IsCompleted)
                {
                    s.Shutdown();
                    sendDone = true;
                }
            }
            if (recvDone)
            {
                // The peer is done; wait for stdin without spinning.
                if (!sendDone && input.TryTake(out var chunk, 100) && s.Send(chunk) is var w && w < 0) return 1;
                continue;
            }
            int ready = InetSocket.Poll(items, sendDone ? -1 : PollMs);
            if (ready < 0)
            {
                Console.Error.WriteLine($"nc: poll: {Err.Name(ready)}");
                return 1;
            }
            if (ready == 0) continue;
            int n = s.Receive(recv);
            if (n < 0)
            {
                Console.Error.WriteLine($"nc: receive: {Err.Name(n)}");
                return 1;
            }
            if (n == 0) recvDone = true;
            else
            {
                stdout.Write(recv, 0, n);
                stdout.Flush();
            }
        }
        return 0;
    }
}
