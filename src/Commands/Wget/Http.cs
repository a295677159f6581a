// The HTTP/1.1 client side wget needs (RFC 9112): the URL form it takes, the response head
// (status line and header fields, bounded), and the body framed by Content-Length, by the
// chunked transfer coding, or by the end of the connection. Nothing from the server is trusted:
// lengths are parsed strictly, the head is bounded, chunk sizes must fit the rules.
using System.Globalization;
using System.Text;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Net;

namespace Bulkhead.Commands.Wget;

public static class Http
{
    /// <summary>http://a.b.c.d[:port][/path]; host is what the Host field carries.</summary>
    public static bool TryParseUrl(string url, out uint address, out int port, out string path, out string host)
    {
        address = 0;
        port = 80;
        path = "/";
        host = "";
        const string scheme = "http://";
        if (!url.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        string rest = url[scheme.Length..];
        int slash = rest.IndexOf('/');
        host = slash < 0 ? rest : rest[..slash];
        if (slash >= 0) path = rest[slash..];
        if (path.Any(c => c <= ' ' || c >= 0x7F)) return false;
        string name = host;
        int colon = host.IndexOf(':');
        if (colon >= 0)
        {
            name = host[..colon];
            if (!int.TryParse(host[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535) return false;
        }
        return Ip4.TryParse(name, out address);
    }

    public sealed record Head(int Status, string Reason, long Length, bool Chunked);

    /// <summary>Reads a response from a socket through one buffer.</summary>
    public sealed class Reader(InetSocket socket)
    {
        private readonly byte[] _buf = new byte[InetCall.MaxTransfer];
        private int _start, _end;
        private bool _eof;

        /// <summary>More bytes into the buffer; false at end of stream. Errors throw nothing: they end the stream with Error set.</summary>
        private bool Fill()
        {
            if (_eof) return false;
            if (_start == _end) _start = _end = 0;
            if (_end == _buf.Length)
            {
                Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int n = socket.Receive(_buf.AsSpan(_end));
            if (n <= 0)
            {
                _eof = true;
                if (n < 0) Error = Err.Name(n);
                return false;
            }
            _end += n;
            return true;
        }

        /// <summary>Why the stream ended early (a receive error), or null.</summary>
        public string? Error { get; private set; }

        /// <summary>One line without its CRLF (a bare LF is accepted), or null at the end or past max bytes.</summary>
        private string? Line(int max)
        {
            while (true)
            {
                int nl = Array.IndexOf(_buf, (byte)'\n', _start, _end - _start);
                if (nl >= 0)
                {
                    int len = nl - _start;
                    if (len > 0 && _buf[nl - 1] == '\r') len--;
                    string s = Encoding.Latin1.GetString(_buf, _start, len);
                    _start = nl + 1;
                    return s;
                }
                if (_end - _start >= max || !Fill()) return null;
            }
        }

        public int ReadHead(int maxBytes, out Head? head, out string? why)
        {
            head = null;
            why = null;
            string? status = Line(maxBytes);
            var parts = status?.Split(' ', 3);
            if (parts is null || parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) ||
                parts[1].Length != 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int code))
            {
                why = status is null ? $"no response ({Error ?? "connection closed"})" : $"not an HTTP response: '{Trim(status)}'";
                return Err.EIO;
            }
            long length = -1;
            bool chunked = false;
            int total = status!.Length;
            while (true)
            {
                string? field = Line(maxBytes);
                if (field is null || (total += field.Length + 2) > maxBytes)
                {
                    why = field is null ? $"response head cut short ({Error ?? "connection closed"})" : $"response head over {maxBytes} bytes";
                    return Err.EIO;
                }
                if (field.Length == 0) break;
                int colon = field.IndexOf(':');
                if (colon <= 0) continue;
                string name = field[..colon].Trim(), value = field[(colon + 1)..].Trim();
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) &&
                    (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out length) || length < 0))
                {
                    why = $"bad Content-Length '{Trim(value)}'";
                    return Err.EIO;
                }
                if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.EndsWith("chunked", StringComparison.OrdinalIgnoreCase))
                    chunked = true;
            }
            head = new Head(code, parts.Length > 2 ? parts[2] : "", chunked ? -1 : length, chunked);
            return Err.Ok;
        }

        private static string Trim(string s) => s.Length > 80 ? s[..80] + "…" : s;

        /// <summary>Hands the body to <paramref name="sink"/> piece by piece; null when it was
        /// complete, else what went wrong.</summary>
        public string? ReadBody(Head head, Action<ReadOnlySpan<byte>> sink)
        {
            if (head.Status is 204 or 304 || head.Status < 200) return null;
            if (head.Chunked) return Chunked(sink);
            long left = head.Length;
            while (left != 0)
            {
                if (_start == _end && !Fill())
                    return left > 0 ? $"connection ended {left} bytes early ({Error ?? "closed"})" : Error;
                int n = (int)(left < 0 ? _end - _start : Math.Min(left, _end - _start));
                sink(_buf.AsSpan(_start, n));
                _start += n;
                if (left > 0) left -= n;
            }
            return null;
        }

        private string? Chunked(Action<ReadOnlySpan<byte>> sink)
        {
            while (true)
            {
                string? sizeLine = Line(1024);
                if (sizeLine is null) return $"chunked body cut short ({Error ?? "closed"})";
                string hex = sizeLine.Split(';')[0].Trim();
                if (hex.Length is 0 or > 15 || !long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long size))
                    return $"bad chunk size '{Trim(sizeLine)}'";
                if (size == 0)
                {
                    while (Line(8192) is { Length: > 0 }) { } // trailer fields
                    return null;
                }
                while (size > 0)
                {
                    if (_start == _end && !Fill()) return $"chunk cut short ({Error ?? "closed"})";
                    int n = (int)Math.Min(size, _end - _start);
                    sink(_buf.AsSpan(_start, n));
                    _start += n;
                    size -= n;
                }
                if (Line(2) is not { Length: 0 }) return "chunk not followed by CRLF";
            }
        }
    }
}
