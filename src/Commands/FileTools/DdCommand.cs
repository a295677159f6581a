// dd [if=FILE] [of=FILE] [bs=N] [count=N] [skip=N] [seek=N]: copies blocks of bs bytes (default
// 512) from if (default stdin) to of (default stdout), count blocks at most, after skipping
// skip blocks of the input and seek blocks of the output. Sizes take GNU dd's suffixes (c w b,
// K M G = powers of 1024, KB MB GB = powers of 1000). Like GNU dd it reports on stderr the full
// and partial records in and out, then "B bytes (… MB, … MiB) copied, S s, R MB/s". Unlike it,
// a read fills the whole block unless the input ends (iflag=fullblock), so count counts bytes
// exactly even from a pipe. A new or regular output file is truncated at the seek point (a
// device is written in place). Exit 1 on an error, after the report of what was copied.
using System.Diagnostics;
using System.Globalization;
using Bulkhead.Lib.Fs;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Vfs;

namespace Bulkhead.Commands.FileTools;

public static class DdCommand
{
    private const string Usage = "dd [if=FILE] [of=FILE] [bs=N] [count=N] [skip=N] [seek=N]";
    /// <summary>Largest block: the whole block is one buffer in memory.</summary>
    private const long MaxBlock = 64L << 20;

    public static int Run(string[] args)
    {
        string input = "-", output = "-";
        long bs = 512, count = -1, skip = 0, seek = 0;
        foreach (var a in args.Skip(1))
        {
            int eq = a.IndexOf('=');
            if (eq <= 0) return FileCli.Usage(Usage);
            string key = a[..eq], value = a[(eq + 1)..];
            bool ok = key switch
            {
                "if" => (input = value).Length > 0,
                "of" => (output = value).Length > 0,
                "bs" => TryParseSize(value, out bs) && bs is > 0 and <= MaxBlock,
                "count" => TryParseSize(value, out count),
                "skip" => TryParseSize(value, out skip),
                "seek" => TryParseSize(value, out seek),
                _ => false,
            };
            if (!ok) return FileCli.Usage(Usage);
        }

        int r = FileEnd.Open(input, VfsCall.O_RDONLY, out var from);
        if (r < 0) return FileCli.Fail("dd", input, r);
        using (from)
        {
            r = OpenOutput(output, seek * bs, out var to);
            if (r < 0) return FileCli.Fail("dd", output, r);
            using (to)
            {
                if (skip > 0 && (r = Skip(from!, skip * bs)) < 0) return FileCli.Fail("dd", input, r);
                return Copy(from!, to!, (int)bs, count, input, output);
            }
        }
    }

    private static int OpenOutput(string path, long at, out FileEnd? to)
    {
        to = null;
        if (path == "-")
        {
            if (at != 0) return Err.ESPIPE;
            to = FileEnd.Stdout();
            return Err.Ok;
        }
        bool regular = Files.Stat(path, out var st) != Err.Ok || (st.Mode & FsMode.TypeMask) == FsMode.Regular;
        int r = FileEnd.Open(path, VfsCall.O_WRONLY | VfsCall.O_CREAT, out to);
        if (r < 0) return r;
        if (regular) r = Files.Ftruncate(to!.Fd, at);
        if (r == Err.Ok && at != 0) r = Files.Seek(to!.Fd, at, VfsCall.SeekSet, out _);
        if (r != Err.Ok)
        {
            to!.Dispose();
            to = null;
        }
        return r;
    }

    private static int Skip(FileEnd from, long bytes)
    {
        if (from.Fd >= 0) return Files.Seek(from.Fd, bytes, VfsCall.SeekSet, out _);
        var buf = new byte[64 * 1024];
        while (bytes > 0)
        {
            int n = from.Read(buf.AsSpan(0, (int)Math.Min(buf.Length, bytes)));
            if (n <= 0) return n;
            bytes -= n;
        }
        return Err.Ok;
    }

    private static int Copy(FileEnd from, FileEnd to, int bs, long count, string input, string output)
    {
        var block = new byte[bs];
        long fullIn = 0, partIn = 0, fullOut = 0, partOut = 0, bytes = 0;
        int status = 0;
        var clock = Stopwatch.StartNew();
        while (count < 0 || fullIn + partIn < count)
        {
            int n = from.Read(block);
            if (n < 0)
            {
                status = FileCli.Fail("dd", $"reading {input}", n);
                break;
            }
            if (n == 0) break;
            if (n == bs) fullIn++;
            else partIn++;
            int w = to.Write(block.AsSpan(0, n));
            if (w < 0)
            {
                status = FileCli.Fail("dd", $"writing {output}", w);
                break;
            }
            if (w == bs) fullOut++;
            else partOut++;
            bytes += w;
            if (n < bs) break;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        Console.Error.Write(Report(fullIn, partIn, fullOut, partOut, bytes, seconds));
        return status;
    }

    /// <summary>GNU dd's closing lines.</summary>
    public static string Report(long fullIn, long partIn, long fullOut, long partOut, long bytes, double seconds)
    {
        var c = CultureInfo.InvariantCulture;
        string sizes = bytes < 1000 ? "" : $" ({Human(bytes, 1000, ["kB", "MB", "GB", "TB"])}, {Human(bytes, 1024, ["KiB", "MiB", "GiB", "TiB"])})";
        string rate = seconds > 0 ? Human((long)(bytes / seconds), 1000, ["kB", "MB", "GB", "TB"], "B") + "/s" : "Infinity B/s";
        return string.Create(c, $"{fullIn}+{partIn} records in\n{fullOut}+{partOut} records out\n" +
                                $"{bytes} {(bytes == 1 ? "byte" : "bytes")}{sizes} copied, {seconds.ToString("0.######", c)} s, {rate}\n");
    }

    /// <summary>"67 MB", "1.6 GB": two significant digits below 10, whole numbers above (as GNU).</summary>
    private static string Human(long value, int unit, string[] names, string bytesName = "B")
    {
        if (value < unit) return string.Create(CultureInfo.InvariantCulture, $"{value} {bytesName}");
        double v = value;
        int i = -1;
        while (v >= unit && i < names.Length - 1)
        {
            v /= unit;
            i++;
        }
        string number = v < 10 ? (Math.Ceiling(v * 10) / 10).ToString("0.0", CultureInfo.InvariantCulture) : Math.Ceiling(v).ToString("0", CultureInfo.InvariantCulture);
        return $"{number} {names[i]}";
    }

    /// <summary>A byte count with GNU dd's suffixes: c (1), w (2), b (512), K M G (1024^n), KB MB GB (1000^n).</summary>
    public static bool TryParseSize(string text, out long value)
    {
        value = 0;
        int digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits])) digits++;
        if (digits == 0 || !long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out long n)) return false;
        long unit = text[digits..] switch
        {
            "" or "c" => 1,
            "w" => 2,
            "b" => 512,
            "K" or "k" or "KiB" => 1L << 10,
            "M" or "MiB" => 1L << 20,
            "G" or "GiB" => 1L << 30,
            "KB" or "kB" => 1000,
            "MB" => 1000_000,
            "GB" => 1000_000_000,
            _ => 0,
        };
        if (unit == 0 || n > long.MaxValue / unit) return false;
        value = n * unit;
        return true;
    }
}
