// service: the administrator's interface to the driver manager (thesis §2.2, Fig. 2.4). Runs
// as a Bulkhead process (from the host: `./bulkhead service …`, which the instance's control
// socket turns into this component). It parses its command line (ServiceCommandLine), puts
// the request text — a ServiceSpec for up/update, the label for down/refresh/restart — in an
// arena buffer, grants RS read/write access to it and SENDRECs the RsCall request with a
// BufferRequest. RS answers m.Type = result and RsReply {Endpoint, Length}; on a refusal it may
// have written an explanation of Length bytes into the buffer, and for list the table text.
// Prints one line (or the table) on stdout; exit status 0 success, 1 failure, 2 usage error.
// Needs: SENDREC; SETGRANT (and SYSCTL); RS as its only target.
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Rs;

namespace Bulkhead.Commands.Service;

public static class ServiceCommand
{
    /// <summary>Buffer for up/update/down/refresh/restart: room for the request and RS's explanation.</summary>
    public const int RequestBufferBytes = ServiceSpec.MaxBytes;
    /// <summary>Buffer for list: RS writes its table here.</summary>
    public const int ListBufferBytes = 64 * 1024;
    /// <summary>Bytes announced for a label request: RS reads at most this many and stops at the
    /// first NUL, and writes an explanation of at most this many back.</summary>
    public const int LabelRequestBytes = 64;

    public static int Run(string[] args)
    {
        var cl = ServiceCommandLine.Parse(args.Skip(1).ToList());
        if (!cl.Ok)
        {
            Console.Out.WriteLine($"service: {cl.Error}");
            Console.Out.WriteLine(ServiceCommandLine.Usage);
            Console.Out.Flush();
            return 2;
        }
        int status = Execute(cl, out string output);
        Console.Out.Write(output);
        Console.Out.Flush();
        return status;
    }

    /// <summary>Sends the request to RS; the text to print and the exit status.</summary>
    public static int Execute(ServiceCommandLine cl, out string output)
    {
        string verb = cl.Verb.ToString().ToLowerInvariant();
        int call = cl.Verb switch
        {
            ServiceVerb.Up => RsCall.Up,
            ServiceVerb.Down => RsCall.Down,
            ServiceVerb.Refresh => RsCall.Refresh,
            ServiceVerb.Restart => RsCall.Restart,
            ServiceVerb.Update => RsCall.Update,
            _ => RsCall.List,
        };
        string text = cl.Verb switch
        {
            ServiceVerb.Up or ServiceVerb.Update => cl.Spec!.Format(),
            ServiceVerb.List => "",
            _ => cl.Label,
        };
        byte[] request = Encoding.UTF8.GetBytes(text);
        int size = cl.Verb == ServiceVerb.List ? ListBufferBytes : RequestBufferBytes;
        if (request.Length >= size)
        {
            output = $"service: request too long ({request.Length} bytes, at most {size - 1})\n";
            return 1;
        }
        int announced = cl.Verb switch
        {
            ServiceVerb.Down or ServiceVerb.Refresh or ServiceVerb.Restart => LabelRequestBytes,
            _ => size,
        };

        int g = GrantedBuffer.Create(Endpoint.Rs, size, Grant.Read | Grant.Write, out var created);
        if (g != Err.Ok)
        {
            output = g == Err.ENOMEM
                ? $"service: no room for the request buffer ({Err.Name(g)})\n"
                : $"service: cannot grant RS the request buffer: {Err.Name(g)}\n";
            return 1;
        }
        using var buffer = created!;
        request.CopyTo(buffer.Span);
        var m = Message.Of(call, new BufferRequest { GrantId = buffer.Grant, Length = announced });
        int r = IpcCall.SendRec(Endpoint.Rs, ref m);
        if (r != Err.Ok)
        {
            output = $"service: cannot reach RS (endpoint {Endpoint.Rs}): {Err.Name(r)}\n";
            return 1;
        }
        var reply = m.As<RsReply>();
        string written = ReadBack(buffer.Span, reply.Length);
        if (m.Type != Err.Ok)
        {
            string who = cl.Label.Length > 0 ? cl.Label : verb;
            output = written.Length > 0
                ? $"service: {who}: {written} ({Err.Name(m.Type)})\n"
                : $"service: {who}: {verb} refused ({Err.Name(m.Type)})\n";
            return 1;
        }
        output = Success(cl, reply.Endpoint, written);
        return 0;
    }

    /// <summary>The text RS wrote back: <paramref name="length"/> bytes at most, up to a NUL, one line.</summary>
    private static string ReadBack(ReadOnlySpan<byte> buffer, int length)
    {
        if (length <= 0) return "";
        var bytes = buffer[..Math.Min(length, buffer.Length)];
        int nul = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? bytes : bytes[..nul]);
    }

    private static string Success(ServiceCommandLine cl, int endpoint, string written)
    {
        string ep = endpoint != Endpoint.None && endpoint != 0 ? endpoint.ToString(CultureInfo.InvariantCulture) : "";
        return cl.Verb switch
        {
            ServiceVerb.Up => $"service up: {cl.Label} is up, endpoint {ep}\n",
            ServiceVerb.Down => $"service down: {cl.Label} is going down\n",
            ServiceVerb.Refresh => $"service refresh: {cl.Label} is being restarted\n",
            ServiceVerb.Restart => ep.Length > 0
                ? $"service restart: {cl.Label} restarted, endpoint {ep}\n"
                : $"service restart: {cl.Label} is being restarted\n",
            ServiceVerb.Update => $"service update: {cl.Label} is being updated to {cl.Spec!.Binary}\n",
            _ => Table(written),
        };
    }

    /// <summary>RS's list text (space-separated columns, header first) aligned for reading.</summary>
    public static string Table(string text)
    {
        var rows = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                       .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                       .Where(r => r.Length > 0)
                       .ToList();
        if (rows.Count == 0) return "service list: RS returned no table\n";
        int cols = rows.Max(r => r.Length);
        var widths = new int[cols];
        foreach (var r in rows)
            for (int i = 0; i < r.Length; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                if (i > 0) sb.Append("  ");
                sb.Append(i == r.Length - 1 ? r[i] : r[i].PadRight(widths[i]));
            }
            sb.Append('\n');
        }
        if (rows.Count == 1) sb.Append("(no services)\n");
        return sb.ToString();
    }
}
