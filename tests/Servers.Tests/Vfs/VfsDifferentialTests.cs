// A differential test of the file API (issue 11, "Oracles no one here wrote"): a seeded random
// run of file calls — create (O_EXCL, O_TRUNC), writes at offsets (holes past the end, writes
// across 1 KiB blocks and across the direct/single-indirect and single/double-indirect zone
// boundaries), truncate (shrink and grow), rename (files and directories, over existing names,
// into their own subtree), link, unlink, mkdir, rmdir (empty or not) — made on a host temporary
// directory through libc and on Bulkhead through a VfsKit program (vfs over mfs_root over
// at_wini). Linux is the oracle: each call's result (OK or the errno's name) must agree, and every
// CompareEvery calls and at the end the two trees must be equal — names, types, sizes, contents
// (SHA-256), a file's link count and a directory's (2 + its subdirectories, which keeps the host's
// file system type out of it). Halfway and at the end Bulkhead's image is synced, fsck.minix -f
// must find it clean, and fsck.minix -l must list exactly the host tree's names.
// Rules: names come from a fixed set of 12 paths over three levels, so that calls collide and
// fail; half the links pick an existing file and a free name from the host tree, so a run depends
// on its seed and Linux's answers only. The seed is printed and in every assertion message;
// BULKHEAD_DIFF_SEED=N replays a run (BULKHEAD_DIFF_OPS=N changes its length). Two errors for one
// failing call are accepted only where POSIX names both and Bulkhead checks in its documented
// order (Tolerated).
using System.Globalization;
using System.Runtime.InteropServices;
using Bulkhead.Lib.Vfs;
using Bulkhead.Servers.Tests.Mfs;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Servers.Tests.Vfs;

public sealed class VfsDifferentialTests : IDisposable
{
    private const string SeedVariable = "BULKHEAD_DIFF_SEED", OpsVariable = "BULKHEAD_DIFF_OPS";
    private const int DefaultOps = 600, CompareEvery = 20, HistoryShown = 25;

    /// <summary>The 12 names every call picks from; any may become a file or a directory.</summary>
    private static readonly string[] Names = ["a", "b", "d0", "d1", "d0/a", "d0/b", "d0/d2", "d1/a", "d1/d0", "d0/d2/a", "d0/d2/b", "d1/d0/a"];
    private static readonly string[] DirNames = ["d0", "d1", "d0/d2", "d1/d0"];
    private static readonly string[] FileNames = ["a", "b", "d0/a", "d0/b", "d1/a", "d0/d2/a", "d0/d2/b", "d1/d0/a"];

    private enum Kind { Create, Write, Truncate, Rename, Link, Unlink, Mkdir, Rmdir }

    /// <summary>One call, made the same on both sides.</summary>
    private sealed record Op(Kind Kind, string A, string B = "", bool Creat = false, bool Excl = false, bool Trunc = false, long Pos = 0, int Seed = 0, int Len = 0)
    {
        public override string ToString() => Kind switch
        {
            Kind.Create => $"create {A}{(Excl ? " O_EXCL" : "")}{(Trunc ? " O_TRUNC" : "")}",
            Kind.Write => $"write {A}{(Creat ? " O_CREAT" : "")} at {Pos} len {Len} seed {Seed}",
            Kind.Truncate => $"truncate {A} {Pos}",
            Kind.Rename or Kind.Link => $"{Kind.ToString().ToLowerInvariant()} {A} {B}",
            _ => $"{Kind.ToString().ToLowerInvariant()} {A}",
        };
    }

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly TempDir _host = new();
    private readonly List<string> _history = [];
    private VfsKit? _kit;
    private int _seed;

    public VfsDifferentialTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _kit?.Dispose();
        _host.Dispose();
    }

    private string Repro => $"seed {_seed} ({SeedVariable}={_seed} replays it)";

    private string Recent => string.Join('\n', _history.Skip(Math.Max(0, _history.Count - HistoryShown)));

    [MinixFact]
    public void RandomCalls_AgreeWithLinux_AndTheImageIsFsckClean()
    {
        _seed = int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), out int s) ? s : Random.Shared.Next();
        int ops = int.TryParse(Environment.GetEnvironmentVariable(OpsVariable), out int n) ? n : DefaultOps;
        _output.WriteLine($"{Repro}, {ops} calls");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            Run(ops);
        }
        catch (Xunit.Sdk.XunitException e) when (!e.Message.StartsWith("seed ", StringComparison.Ordinal))
        {
            throw new Xunit.Sdk.XunitException($"{Repro}: {e.Message}\nlast calls:\n{Recent}", e);
        }
        _output.WriteLine($"{ops} calls in {clock.Elapsed.TotalSeconds:F1} s");
    }

    private void Run(int ops)
    {
        _kit = new VfsKit(_output);
        var p = _kit.Program();
        var rng = new Random(_seed);
        var results = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 1; i <= ops; i++)
        {
            var op = Next(rng);
            string host = OnHost(op), guest = OnBulkhead(p, op);
            string? tolerated = host == guest ? null : Tolerated(op, host, guest);
            _history.Add($"{i}: {op} -> {host}{(guest == host ? "" : $" (Bulkhead: {guest}{(tolerated is null ? "" : ", tolerated: " + tolerated)})")}");
            Assert.True(host == guest || tolerated is not null, $"{Repro}: call {i} `{op}`: Linux {host}, Bulkhead {guest}\nlast calls:\n{Recent}");
            results[$"{op.Kind} {host}"] = results.GetValueOrDefault($"{op.Kind} {host}") + 1;
            if (i % CompareEvery == 0 || i == ops) CompareTrees(p, $"after call {i}");
            if (i == ops / 2 || i == ops) CheckImage(p, $"after call {i}");
        }
        _output.WriteLine("the tree at the end:\n" + string.Join('\n', HostTree()));
        _output.WriteLine("results: " + string.Join(", ", results.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} x{r.Value}")));
    }

    /// <summary>Syncs; fsck.minix -f finds the image clean and -l lists the host tree's names.</summary>
    private void CheckImage(Puppet p, string when)
    {
        p.Is("OK", "sync");
        var (code, fsck) = MinixTools.Fsck(_kit!.ImagePath);
        var complaints = fsck.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("Forcing filesystem check", StringComparison.Ordinal)).ToList();
        Assert.True(code == 0 && complaints.Count == 0, $"{Repro}: fsck.minix -f {when}: exit {code}:\n{fsck}\nlast calls:\n{Recent}");
        var host = HostTree().Select(l => l.Split(' ')[0]).Where(l => l != "/").Order(StringComparer.Ordinal).ToList();
        var listed = MinixTools.ListNames(_kit.ImagePath);
        Assert.True(host.SequenceEqual(listed), $"{Repro}: fsck.minix -l {when} lists {string.Join(' ', listed)}; the host has {string.Join(' ', host)}");
    }

    // ---- The calls ----

    private static string Pick(Random r, string[] likely) => r.Next(10) < 7 ? likely[r.Next(likely.Length)] : Names[r.Next(Names.Length)];

    /// <summary>A name that is a file on the host now (else any), for a link that can succeed.</summary>
    private string Existing(Random r) => OneOf(r, Names.Where(n => File.Exists(Path.Combine(_host.Path, n))));

    /// <summary>A name that is free on the host now, in a directory that exists (else any).</summary>
    private string Free(Random r) => OneOf(r, Names.Where(n => !Path.Exists(Path.Combine(_host.Path, n)) && Directory.Exists(Path.GetDirectoryName(Path.Combine(_host.Path, n)))));

    private static string OneOf(Random r, IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count > 0 ? list[r.Next(list.Count)] : Names[r.Next(Names.Length)];
    }

    private Op Next(Random r)
    {
        int k = r.Next(100);
        return k switch
        {
            < 14 => new Op(Kind.Create, Pick(r, FileNames), Excl: r.Next(3) == 0, Trunc: r.Next(4) == 0),
            < 38 => new Op(Kind.Write, Pick(r, FileNames), Creat: r.Next(2) == 0, Pos: Offset(r), Seed: r.Next(1_000_000), Len: Length(r)),
            < 47 => new Op(Kind.Truncate, Pick(r, FileNames), Pos: Size(r)),
            < 62 => new Op(Kind.Rename, Names[r.Next(Names.Length)], Names[r.Next(Names.Length)]),
            < 72 => r.Next(2) == 0 ? new Op(Kind.Link, Pick(r, FileNames), Pick(r, FileNames)) : new Op(Kind.Link, Existing(r), Free(r)),
            < 84 => new Op(Kind.Unlink, Pick(r, FileNames)),
            < 92 => new Op(Kind.Mkdir, Pick(r, DirNames)),
            _ => new Op(Kind.Rmdir, Pick(r, DirNames)),
        };
    }

    /// <summary>Where a write starts: near the start, at a block boundary, across the last direct
    /// zone (7 KiB) or the last single-indirect one (263 KiB), or anywhere in 40 KB (mostly past
    /// the end, leaving a hole).</summary>
    private static long Offset(Random r) => r.Next(10) switch
    {
        < 4 => r.Next(4096),
        < 6 => 1024L * r.Next(1, 12) - r.Next(64),
        < 8 => 7 * 1024L - r.Next(2048),
        8 => 263 * 1024L - r.Next(2048),
        _ => r.Next(40_000),
    };

    private static int Length(Random r) => r.Next(10) switch
    {
        < 5 => r.Next(1, 600),
        < 8 => r.Next(600, 3000),
        8 => r.Next(3000, 9000),
        _ => r.Next(9000, 70_000),
    };

    /// <summary>A truncate's size: empty, small, a block boundary, around 7 KiB, or up to 300 KB (often growing).</summary>
    private static long Size(Random r) => r.Next(5) switch
    {
        0 => 0,
        1 => r.Next(2000),
        2 => 1024L * r.Next(1, 12),
        3 => 7 * 1024L + r.Next(-100, 100),
        _ => r.Next(300_000),
    };

    private string OnBulkhead(Puppet p, Op op)
    {
        string a = "/" + op.A, b = "/" + op.B;
        switch (op.Kind)
        {
            case Kind.Create:
            case Kind.Write:
            {
                int flags = VfsCall.O_WRONLY | (op.Kind == Kind.Create || op.Creat ? VfsCall.O_CREAT : 0)
                    | (op.Excl ? VfsCall.O_EXCL : 0) | (op.Trunc ? VfsCall.O_TRUNC : 0);
                string fd = p.V($"open {a} {flags} 420")[0];
                if (!int.TryParse(fd, out _)) return fd;
                string w = op.Kind == Kind.Write ? p.V($"pwrite {fd} {op.Pos} {op.Seed} {op.Len}")[0] : "OK";
                p.Is("OK", $"close {fd}");
                return w == op.Len.ToString(CultureInfo.InvariantCulture) ? "OK" : w;
            }
            case Kind.Truncate: return p.V($"truncate {a} {op.Pos}")[0];
            case Kind.Rename: return p.V($"rename {a} {b}")[0];
            case Kind.Link: return p.V($"link {a} {b}")[0];
            case Kind.Unlink: return p.V($"unlink {a}")[0];
            case Kind.Mkdir: return p.V($"mkdir {a}")[0];
            default: return p.V($"rmdir {a}")[0];
        }
    }

    private string OnHost(Op op)
    {
        string a = Path.Combine(_host.Path, op.A), b = Path.Combine(_host.Path, op.B);
        switch (op.Kind)
        {
            case Kind.Create:
            case Kind.Write:
            {
                int flags = Libc.O_WRONLY | (op.Kind == Kind.Create || op.Creat ? Libc.O_CREAT : 0)
                    | (op.Excl ? Libc.O_EXCL : 0) | (op.Trunc ? Libc.O_TRUNC : 0);
                int fd = Libc.Open(a, flags, 420);
                if (fd < 0) return Libc.Error();
                string w = "OK";
                if (op.Kind == Kind.Write)
                {
                    long done = Libc.PWrite(fd, VfsAsk.Pattern(op.Len, op.Seed), op.Len, op.Pos);
                    w = done < 0 ? Libc.Error() : done == op.Len ? "OK" : done.ToString(CultureInfo.InvariantCulture);
                }
                Assert.True(Libc.Close(fd) == 0, $"{Repro}: host close: {Libc.Error()}");
                return w;
            }
            case Kind.Truncate: return Libc.Result(Libc.Truncate(a, op.Pos));
            case Kind.Rename: return Libc.Result(Libc.Rename(a, b));
            case Kind.Link: return Libc.Result(Libc.Link(a, b));
            case Kind.Unlink: return Libc.Result(Libc.Unlink(a));
            case Kind.Mkdir: return Libc.Result(Libc.Mkdir(a, 0x1ED));
            default: return Libc.Result(Libc.Rmdir(a));
        }
    }

    /// <summary>Why a call that failed on both sides may fail with a different error: each case
    /// is one where two errors apply, POSIX names both and does not order them, and Bulkhead checks
    /// in MINIX's order (docs/mfs.md). The host's names are as the call found them (it failed).</summary>
    private string? Tolerated(Op op, string linux, string bulkhead)
    {
        bool IsDir(string name) => Directory.Exists(Path.Combine(_host.Path, name));
        return (op.Kind, linux, bulkhead) switch
        {
            // link(dir, b): VFS answers EPERM for a directory before it walks b (docs/vfs.md);
            // Linux looks at b first (a missing or non-directory component, an existing name).
            (Kind.Link, "EEXIST" or "ENOENT" or "ENOTDIR", "EPERM") when IsDir(op.A) => "a directory linked, b checked after",
            // rename(file, an ancestor directory): Linux's ancestor check comes first, MFS answers
            // for a non-directory over a directory.
            (Kind.Rename, "ENOTEMPTY", "EISDIR") when !IsDir(op.A) && IsDir(op.B) && op.A.StartsWith(op.B + "/", StringComparison.Ordinal)
                => "a file renamed over its own ancestor",
            _ => null,
        };
    }

    // ---- The trees: one line an entry, in the same order on both sides ----

    private void CompareTrees(Puppet p, string when)
    {
        var host = HostTree();
        var guest = new List<string>();
        GuestWalk(p, "/", guest);
        Assert.True(host.SequenceEqual(guest),
            $"{Repro}: the trees differ {when}\nLinux:\n{string.Join('\n', host)}\nBulkhead:\n{string.Join('\n', guest)}\nlast calls:\n{Recent}");
    }

    private static string Join(string dir, string name) => dir == "/" ? "/" + name : dir + "/" + name;

    private List<string> HostTree()
    {
        var lines = new List<string>();
        HostWalk("/", lines);
        return lines;
    }

    private void HostWalk(string dir, List<string> lines)
    {
        string real = _host.Path + (dir == "/" ? "" : dir);
        var entries = Directory.EnumerateFileSystemEntries(real).Select(e => Path.GetFileName(e)!).Order(StringComparer.Ordinal)
            .Select(name => (Name: name, Stat: Libc.Stat(Path.Combine(real, name)))).ToList();
        lines.Add($"{dir} dir nlinks={2 + entries.Count(e => e.Stat.Type == Libc.S_IFDIR)}");
        foreach (var (name, st) in entries)
        {
            string path = Join(dir, name);
            if (st.Type == Libc.S_IFDIR) HostWalk(path, lines);
            else if (st.Type == Libc.S_IFREG)
                lines.Add($"{path} file size={st.Size} nlinks={st.Nlink} sha={VfsAsk.Sha(File.ReadAllBytes(Path.Combine(real, name)))}");
            else lines.Add($"{path} type={st.Type:x}");
        }
    }

    private static void GuestWalk(Puppet p, string dir, List<string> lines)
    {
        var ls = p.Is("OK", $"ls {dir}");
        var names = ls.Length > 1 && ls[1].Length > 0 ? ls[1].Split(',') : [];
        var entries = names.Select(name => (Name: name, Stat: p.Is("OK", $"lstat {Join(dir, name)}"))).ToList();
        lines.Add($"{dir} dir {p.Is("OK", $"lstat {dir}")[3]}");
        foreach (var (name, st) in entries)
        {
            string path = Join(dir, name);
            int type = Convert.ToInt32(st[1]["mode=".Length..], 16) & 0xF000;
            if (type == Libc.S_IFDIR) GuestWalk(p, path, lines);
            else if (type == Libc.S_IFREG)
            {
                var cat = p.V($"cat {path}");
                Assert.True(cat[0] == st[2]["size=".Length..], $"cat {path} read {cat[0]} bytes, lstat says {st[2]}");
                lines.Add($"{path} file {st[2]} {st[3]} sha={cat[1]}");
            }
            else lines.Add($"{path} type={type:x}");
        }
    }

    /// <summary>The host's side: Linux's calls through libc, errors as errno names.</summary>
    private static class Libc
    {
        public const int O_WRONLY = 0x1, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200;
        public const int S_IFDIR = 0x4000, S_IFREG = 0x8000;
        private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxBasicStats = 0x7FF;

        private static readonly Dictionary<int, string> Errnos = new()
        {
            [1] = "EPERM", [2] = "ENOENT", [5] = "EIO", [9] = "EBADF", [13] = "EACCES", [16] = "EBUSY", [17] = "EEXIST",
            [18] = "EXDEV", [20] = "ENOTDIR", [21] = "EISDIR", [22] = "EINVAL", [27] = "EFBIG", [28] = "ENOSPC",
            [31] = "EMLINK", [36] = "ENAMETOOLONG", [39] = "ENOTEMPTY", [40] = "ELOOP",
        };

        public static string Error()
        {
            int e = Marshal.GetLastPInvokeError();
            return Errnos.TryGetValue(e, out string? name) ? name : $"errno{e}";
        }

        public static string Result(int r) => r == 0 ? "OK" : Error();

        public readonly record struct StatInfo(int Type, long Size, uint Nlink);

        /// <summary>lstat through statx, whose layout is the same on every architecture.</summary>
        public static StatInfo Stat(string path)
        {
            var b = new byte[256];
            Assert.True(Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, b) == 0, $"statx {path}: {Error()}");
            return new StatInfo(BitConverter.ToUInt16(b, 28) & 0xF000, BitConverter.ToInt64(b, 40), BitConverter.ToUInt32(b, 16));
        }

#pragma warning disable SYSLIB1054 // DllImport: the test project is not unsafe (LibraryImport's stubs would be)
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);

        [DllImport("libc", EntryPoint = "pwrite", SetLastError = true)]
        public static extern nint PWrite(int fd, byte[] data, nint count, long offset);

        [DllImport("libc", EntryPoint = "truncate", SetLastError = true)]
        public static extern int Truncate([MarshalAs(UnmanagedType.LPUTF8Str)] string path, long length);

        [DllImport("libc", EntryPoint = "rename", SetLastError = true)]
        public static extern int Rename([MarshalAs(UnmanagedType.LPUTF8Str)] string from, [MarshalAs(UnmanagedType.LPUTF8Str)] string to);

        [DllImport("libc", EntryPoint = "link", SetLastError = true)]
        public static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string name);

        [DllImport("libc", EntryPoint = "unlink", SetLastError = true)]
        public static extern int Unlink([MarshalAs(UnmanagedType.LPUTF8Str)] string path);

        [DllImport("libc", EntryPoint = "mkdir", SetLastError = true)]
        public static extern int Mkdir([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);

        [DllImport("libc", EntryPoint = "rmdir", SetLastError = true)]
        public static extern int Rmdir([MarshalAs(UnmanagedType.LPUTF8Str)] string path);

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mask, byte[] buffer);
#pragma warning restore SYSLIB1054
    }
}
