// A block driver that misbehaves on purpose, for tests and demonstrations (thesis §4.4: a disk
// driver that does not crash can still corrupt data silently or fail legitimate requests, and a
// filter driver must notice). One driver argument, parsed here, tells any driver on the shared
// library (BlockDriver) to inject one kind of fault into its data requests:
//   fault=KIND[,every=N][,minor=M]
// KIND: `noop` answers OK with the full count and moves no data; `misdirect` lands a write one
// sector further on (one sector earlier where that would pass the end of the minor); `flip`
// flips one bit of a read's data on its way to the client; `fail` answers EIO without touching
// the device; `hang` never answers (the driver drops the request and serves everything else).
// `every=N` (1..MaxEvery, default 1): the fault hits every Nth data request it applies to —
// reads and writes for noop, fail and hang, writes for misdirect, reads for flip; `minor=M`
// only on minor M (default: all). Open, Close, Ioctl and Flush are never touched.
// Interface: TryParse (a clear error naming the argument, for the driver to print before it
// exits), then BlockDriver.Faults; the library asks Next for every data request that passed
// its checks and applies the kind it answers.
// Rules: the counts (Counted, Applied) and the place of a flipped bit are per instance of the
// driver and deterministic: the same requests in the same order get the same faults.
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Bulkhead.Drivers.Block;

public sealed class BlockFaults
{
    /// <summary>What is injected into one request; None when it is spared.</summary>
    public enum Kind { None, Noop, Misdirect, Flip, Fail, Hang }

    public const string Prefix = "fault=";
    public const int MaxEvery = 1_000_000;
    private const string Syntax = "fault=KIND[,every=N][,minor=M], KIND noop|misdirect|flip|fail|hang";

    private BlockFaults(Kind what, int every, int minor) => (What, Every, Minor) = (what, every, minor);

    public Kind What { get; }

    /// <summary>Every how many requests it applies to the fault hits (1: each of them).</summary>
    public int Every { get; }

    /// <summary>The only minor it touches; -1 for all of them.</summary>
    public int Minor { get; }

    /// <summary>Data requests it applied to so far (hit or spared).</summary>
    public long Counted { get; private set; }

    /// <summary>Requests it hit so far.</summary>
    public long Applied { get; private set; }

    /// <summary>True if <paramref name="arg"/> is a fault argument (well-formed or not).</summary>
    public static bool IsArgument(string arg) => arg.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Parses "fault=KIND[,every=N][,minor=M]" (options in any order, each at most once).
    /// On failure <paramref name="error"/> names the argument and what is wrong with it.</summary>
    public static bool TryParse(string arg, [NotNullWhen(true)] out BlockFaults? plan, out string error)
    {
        plan = null;
        error = "";
        if (!IsArgument(arg)) return Bad(arg, "not a fault argument", out error);
        var parts = arg[Prefix.Length..].Split(',');
        Kind what = parts[0] switch
        {
            "noop" => Kind.Noop,
            "misdirect" => Kind.Misdirect,
            "flip" => Kind.Flip,
            "fail" => Kind.Fail,
            "hang" => Kind.Hang,
            _ => Kind.None,
        };
        if (what == Kind.None) return Bad(arg, $"unknown kind '{parts[0]}'", out error);
        int every = 0, minor = -1;
        foreach (var option in parts.AsSpan(1))
        {
            int eq = option.IndexOf('=');
            string name = eq < 0 ? option : option[..eq];
            bool number = int.TryParse(option.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int value);
            if (name == "every" && eq > 0)
            {
                if (every != 0) return Bad(arg, "every given twice", out error);
                if (!number || value is < 1 or > MaxEvery) return Bad(arg, $"every must be 1..{MaxEvery}", out error);
                every = value;
            }
            else if (name == "minor" && eq > 0)
            {
                if (minor >= 0) return Bad(arg, "minor given twice", out error);
                if (!number || value >= BlockDriver.MaxMinors) return Bad(arg, $"minor must be 0..{BlockDriver.MaxMinors - 1}", out error);
                minor = value;
            }
            else return Bad(arg, $"unknown option '{option}'", out error);
        }
        plan = new BlockFaults(what, every == 0 ? 1 : every, minor);
        return true;
    }

    private static bool Bad(string arg, string what, out string error)
    {
        error = $"bad argument '{arg}': {what} (want {Syntax})";
        return false;
    }

    /// <summary>Counts a data request that passed its checks and says what to inject into it:
    /// What on every Every-th request the plan applies to, else None.</summary>
    public Kind Next(int minor, bool write)
    {
        bool applies = (Minor < 0 || Minor == minor) && What switch
        {
            Kind.Misdirect => write,
            Kind.Flip => !write,
            _ => true,
        };
        if (!applies) return Kind.None;
        Counted++;
        if (Counted % Every != 0) return Kind.None;
        Applied++;
        return What;
    }

    /// <summary>Where a misdirected write of <paramref name="bytes"/> at <paramref name="position"/>
    /// lands in a minor of <paramref name="size"/> bytes: one sector further on, or one sector
    /// earlier when that would pass the end; the position itself when the write covers the
    /// whole minor (there is nowhere else to put it).</summary>
    public static long Misdirect(long position, long bytes, long size, int sector)
    {
        if (position + sector + bytes <= size) return position + sector;
        return position >= sector ? position - sector : position;
    }

    /// <summary>The byte (of <paramref name="bytes"/>) and bit of the latest hit's flip, from
    /// Applied: deterministic, and different from one hit to the next.</summary>
    public (long Byte, int Bit) Flip(long bytes)
    {
        ulong x = (ulong)Applied * 0x9E3779B97F4A7C15UL;
        return ((long)((x >> 16) % (ulong)Math.Max(bytes, 1)), (int)(Applied % 8));
    }

    /// <summary>"flip every 3 on minor 1", as the driver's log says it.</summary>
    public override string ToString() =>
        What.ToString().ToLowerInvariant()
        + (Every > 1 ? string.Create(CultureInfo.InvariantCulture, $" every {Every}") : "")
        + (Minor >= 0 ? string.Create(CultureInfo.InvariantCulture, $" on minor {Minor}") : " on every minor");
}
