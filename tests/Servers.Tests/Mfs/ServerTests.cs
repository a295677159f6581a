// The MFS server process (src/Servers/Mfs/Server, docs/mfs.md "The server") under RS, on at_wini
// and the ATA disk model over an image file, with the client puppet playing VFS (`fs` requests,
// tests/Components/FsRequests.cs). Images are made by Linux `mkfs.minix -3` and by our Mkfs; the
// oracles are Linux `fsck.minix -f` (clean) and `fsck.minix -l` (exactly the names written) on
// the image file after Sync, and read-backs compared by SHA-256 with what the test wrote. Also:
// bad input answered with errors while the server stays the same instance, EPERM for another
// endpoint, an unlinked file readable until its last PutNode, and a SIGKILLed server that RS
// restarts and VFS must mount again.
using System.Globalization;
using System.Security.Cryptography;
using Bulkhead.Lib.Fs;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Pci;
using Bulkhead.Machine.Storage;
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Servers.Tests.Mfs;

public sealed class ServerTests : IDisposable
{
    private static readonly PciAddress Address = new(0, 4, 0);
    private const int BusMaster = 0xC100, Irq = 14;

    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly TempDir _tmp = new();
    private readonly Board _board = new();
    private DiskImage? _image;
    private RsSystem? _rs;
    private int _mfs;

    public ServerTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _rs?.Dispose();
        _image?.Dispose();
        _tmp.Dispose();
    }

    private RsSystem Rs => _rs!;

    /// <summary>Boots a machine whose ATA disk is <paramref name="path"/>, starts at_wini as c0d0
    /// and mfs as mfs_test under their etc/drivers.conf policies.</summary>
    private void Boot(string path)
    {
        _image = DiskImage.Open(path, 0);
        _rs = new RsSystem(_output, _board, kernel =>
        {
            var ata = new AtaController(_image, "BULKHEAD-disk0", kernel.IrqLine(Irq), _board.Iommu.Port(Address.RequesterId));
            Assert.Null(_board.PlugPci(Address, ata.Config, ata.BusMaster, BusMaster, Irq));
            Assert.True(_board.Io.Register(AtaRegisters.CommandBlockPorts, AtaRegisters.CommandBlockLength, ata.CommandBlock));
            Assert.True(_board.Io.Register(AtaRegisters.ControlBlockPort, AtaRegisters.ControlBlockLength, ata.ControlBlock));
        });
        Up("c0d0", "at_wini", "at_wini");
        _mfs = Up("mfs_test", "mfs", "mfs");
    }

    private int Up(string label, string component, string policy)
    {
        var up = Rs.Manager.Ask($"rs-spec up label={label};binary={RsSystem.Image};args={component};policy={policy}");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState(label, "running");
        return RsKit.Ep(Rs.Row(label));
    }

    /// <summary>One file-server request from the client puppet (VFS's part) to mfs.</summary>
    private string Fs(string args, Puppet? from = null, int? to = null) =>
        (from ?? Rs.Client).Ask($"fs {to ?? _mfs} {args}", 60_000);

    /// <summary>The request answered <paramref name="result"/>; its answer's fields.</summary>
    private string[] Is(string result, string args, Puppet? from = null)
    {
        string a = Fs(args, from);
        Assert.True(Puppet.Field(a, 1) == "OK" && Puppet.Field(a, 2) == result, $"fs {args}: expected {result}, got: {a}");
        var f = a.Split(' ');
        if (result == "OK" && from is null) Track(args, f);
        return f;
    }

    /// <summary>The references the client (VFS) holds, as the protocol counts them.</summary>
    private readonly List<uint> _held = [];

    private void Track(string args, string[] answer)
    {
        string call = args.Split(' ')[0];
        if (call is "mount" or "lookup" or "create" or "mkdir" or "symlink") _held.Add(Ino(answer));
        if (call == "unmount") _held.Clear();
        if (call != "putnode") return;
        var kv = args.Split(' ').Skip(1).Select(a => a.Split('=')).ToDictionary(a => a[0], a => uint.Parse(a[1], CultureInfo.InvariantCulture));
        for (uint i = 0; i < kv.GetValueOrDefault("count", 1u); i++) _held.Remove(kv["ino"]);
    }

    /// <summary>Gives back every reference but the root's (VFS closing everything), then unmounts.</summary>
    private void PutAllAndUnmount()
    {
        foreach (var g in _held.Where(i => i != 1).GroupBy(i => i).ToList()) Ok($"putnode ino={g.Key} count={g.Count()}");
        Ok("unmount");
    }

    private string[] Ok(string args) => Is("OK", args);

    /// <summary>A request answered with a count (Read, Write, ReadLink, GetDents); its answer's fields.</summary>
    private string[] Counted(string args)
    {
        string a = Fs(args);
        Assert.True(Puppet.Field(a, 1) == "OK" && int.TryParse(Puppet.Field(a, 2), out int n) && n >= 0, $"fs {args}: expected a count, got: {a}");
        return a.Split(' ');
    }

    /// <summary>The inode of a node reply.</summary>
    private static uint Ino(string[] f) => uint.Parse(f[3], CultureInfo.InvariantCulture);

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Sha(ReadOnlySpan<byte> d) => Convert.ToHexString(SHA256.HashData(d));

    /// <summary>Writes <paramref name="length"/> seeded bytes at <paramref name="pos"/> and updates the model.</summary>
    private void Write(uint ino, ref byte[] model, long pos, int length, int seed)
    {
        var f = Counted($"write ino={ino} pos={pos} data={length}:{seed}");
        Assert.True(f[2] == length.ToString(CultureInfo.InvariantCulture), string.Join(' ', f));
        long end = Math.Max(model.Length, pos + length);
        if (end > model.Length) Array.Resize(ref model, (int)end);
        Pattern(length, seed).CopyTo(model, pos);
        Assert.Equal(end.ToString(CultureInfo.InvariantCulture), f[3]);
    }

    /// <summary>Reads [pos, pos+length) and compares it with the model (short at the end).</summary>
    private void ReadBack(uint ino, byte[] model, long pos, int length)
    {
        var f = Counted($"read ino={ino} pos={pos} buf={length}");
        int expect = (int)Math.Clamp(model.Length - pos, 0, length);
        Assert.True(f[2] == expect.ToString(CultureInfo.InvariantCulture), $"read {ino} at {pos} of {length}: {string.Join(' ', f)}");
        Assert.Equal(Sha(model.AsSpan((int)Math.Min(pos, model.Length), expect)), f[3]);
    }

    private uint Mount(string device = "c0d0 0") => Ino(Ok($"mount text={device.Replace(" ", "%20", StringComparison.Ordinal)}"));

    private List<string> Names(uint dir)
    {
        var names = new List<string>();
        long cookie = 0;
        while (true)
        {
            var f = Counted($"getdents ino={dir} pos={cookie} buf=100");
            if (f[2] == "0") return names;
            cookie = long.Parse(f[3], CultureInfo.InvariantCulture);
            names.AddRange(f[4].Split(',').Select(e => e[(e.IndexOf(':', StringComparison.Ordinal) + 1)..]));
        }
    }

    [MinixFact]
    public void LinuxImage_FileCallsThroughTheServer_ByteExact_AndFsckClean()
    {
        string img = MinixTools.MakeImage(_tmp, 16384);
        Boot(img);
        uint root = Mount();
        Assert.Equal(1u, root);
        Assert.True(Rs.Sys.Console.Has("mfs: mounted c0d0 0 for endpoint"), Rs.Console());
        var sfs = Ok("statfs");
        Assert.Equal(("1024", "60", "16384"), (sfs[3], sfs[4], sfs[5]));

        // Files at many sizes and offsets: inside one block, across blocks, across the 64 KiB
        // chunk, through the single-indirect zone (7 KiB) and into the double-indirect one (263 KiB).
        uint dir = Ino(Ok($"mkdir ino={root} mode=755 text=data"));
        var files = new Dictionary<string, (uint Ino, byte[] Model)>();
        int seed = 100;
        foreach (var (name, writes) in new (string, (long Pos, int Len)[])[]
                 {
                     ("empty", []),
                     ("one", [(0, 1)]),
                     ("block", [(0, 1024), (1023, 2)]),
                     ("odd", [(1, 511), (1025, 3000), (7 * 1024 - 5, 10)]),
                     ("chunky", [(0, 70_000), (65_530, 20)]),
                     ("big", [(0, 200 * 1024 + 7), (100_000, 5)]),
                     ("sparse", [(300_000, 4096), (5, 5)]),
                 })
        {
            uint ino = Ino(Ok($"create ino={dir} mode=644 text={name}"));
            var model = Array.Empty<byte>();
            foreach (var (pos, len) in writes) Write(ino, ref model, pos, len, seed++);
            files[name] = (ino, model);
        }
        foreach (var (name, (ino, model)) in files)
        {
            ReadBack(ino, model, 0, Math.Max(model.Length, 1) + 100);   // whole file, short at the end
            foreach (long pos in new long[] { 1, 1023, 1024, 7 * 1024, 65_536, 299_999 })
                ReadBack(ino, model, pos, 3000);
            var st = Ok($"stat ino={ino}");
            Assert.Equal((ino.ToString(CultureInfo.InvariantCulture), "100644", model.Length.ToString(CultureInfo.InvariantCulture)), (st[3], st[4], st[9]));
        }
        Assert.Equal([".", "..", "big", "block", "chunky", "empty", "odd", "one", "sparse"], Names(dir).Order(StringComparer.Ordinal).ToArray());

        // Truncate both ways, rename across directories, a hard link, a symlink.
        var (bigIno, big) = files["big"];
        Ok($"truncate ino={bigIno} pos=5000");
        Array.Resize(ref big, 5000);
        ReadBack(bigIno, big, 0, 10_000);
        Ok($"truncate ino={bigIno} pos=9000");
        Array.Resize(ref big, 9000);
        ReadBack(bigIno, big, 0, 10_000);
        uint sub = Ino(Ok($"mkdir ino={dir} mode=700 text=sub"));
        Ok($"rename ino={dir} ino2={sub} text=odd%00moved");
        Is("ENOENT", $"lookup ino={dir} text=odd");
        Assert.Equal(files["odd"].Ino, Ino(Ok($"lookup ino={sub} text=moved")));
        Ok($"link ino={root} ino2={files["one"].Ino} text=hard");
        Assert.Equal("2", Ok($"stat ino={files["one"].Ino}")[5]);
        uint link = Ino(Ok($"symlink ino={root} text=ln%00data/one"));
        Assert.Equal("2 da", string.Join(' ', Counted($"readlink ino={link} buf=2")[2..]));
        Assert.Equal("8 data/one", string.Join(' ', Counted($"readlink ino={link} buf=100")[2..]));
        Ok($"unlink ino={dir} text=empty");
        Is("ENOTEMPTY", $"rmdir ino={root} text=data");
        Is("EPERM", $"unlink ino={root} text=data");
        Ok($"chmod ino={dir} mode=750");
        Ok($"chown ino={dir} owner=12 group=34");
        Ok($"utime ino={dir} atime=1000 mtime=2000");
        var ds = Ok($"stat ino={dir}");
        Assert.Equal(("40750", "12", "34", "1000", "2000"), (ds[4], ds[6], ds[7], ds[10], ds[11]));
        Ok("sync");
        Is("EBUSY", "unmount");
        PutAllAndUnmount(); // the unlinked "empty" is freed with its last reference

        // The image, read by Linux: clean, and exactly these names.
        MinixTools.AssertClean(img);
        Assert.Equal(new SortedSet<string>(StringComparer.Ordinal)
        {
            "/data", "/data/big", "/data/block", "/data/chunky", "/data/one", "/data/sparse", "/data/sub", "/data/sub/moved", "/hard", "/ln",
        }, MinixTools.ListNames(img));
    }

    [MinixFact]
    public void OurMkfsImage_BadInput_GetsErrors_AndTheServerStaysUp()
    {
        string img = Path.Combine(_tmp.Path, "ours.img");
        using (var blank = File.Create(img)) blank.SetLength(8L << 20);
        Boot(img);
        // No file system yet: refused with a reason, and nothing is mounted.
        Is("EINVAL", "mount text=c0d0%200");
        Assert.True(Rs.Sys.Console.Has("mfs: mount of c0d0 0: no usable MINIX v3 file system: superblock:"), Rs.Console());
        Is("EBADF", "stat ino=1");
        using (var dev = new FileBlockDevice(img))
            Assert.Equal(MfsError.None, Mkfs.Format(dev, new Mkfs.Options(), out _));

        foreach (var bad in new[] { "c0d0", "c0d0%20", "c0/d0%200", "c0d0%20x", "c0d0%20-1", "nosuch%200" })
            Assert.NotEqual("OK", Puppet.Field(Fs($"mount text={bad}"), 2));
        Is("EINVAL", "mount text=c0d0%200 flags=4");
        uint root = Mount();
        Is("EBUSY", "mount text=c0d0%200");

        // Another endpoint: EPERM for every request.
        Is("EPERM", $"stat ino={root}", Rs.Manager);
        Is("EPERM", $"create ino={root} mode=644 text=x", Rs.Manager);

        // Names: empty, '/', NUL, too long, not UTF-8; bad modes; inodes not held; bad grants and lengths.
        Is("EINVAL", $"create ino={root} mode=644 text=");
        Is("EINVAL", $"create ino={root} mode=644 text=a/b");
        Is("EINVAL", $"create ino={root} mode=644 text=a%00b");
        Is("ENAMETOOLONG", $"create ino={root} mode=644 text={new string('n', FsCall.NameMax + 1)}");
        Ok($"create ino={root} mode=644 text={new string('n', FsCall.NameMax)}");
        Is("EINVAL", $"create ino={root} mode=644 text=%FF%FE");
        Is("EINVAL", $"create ino={root} mode=40755 text=dir");
        Is("EINVAL", $"create ino={root} mode=1000644 text=x");
        Is("EINVAL", $"mkdir ino={root} mode=100644 text=d");
        Is("EINVAL", $"symlink ino={root} text=s%00");
        Is("EINVAL", $"rename ino={root} ino2={root} text=nonul");
        Is("EBADF", "stat ino=0");
        Is("EBADF", "stat ino=3");        // a free inode
        Ok("putnode ino=2");              // the 60-byte name's inode: allocated, and no longer held
        Is("EBADF", "stat ino=2");
        Is("EBADF", "lookup ino=99999999 text=x");
        Is("EINVAL", $"read ino={root} pos=0 buf=16 len={FsCall.MaxTransfer + 1}");
        Is("EINVAL", $"read ino={root} pos=-1 buf=16");
        Is("EISDIR", $"read ino={root} pos=0 buf=16");
        Assert.NotEqual("OK", Puppet.Field(Fs($"create ino={root} mode=644 text=g grant=12345"), 2));
        Assert.NotEqual("OK", Puppet.Field(Fs($"create ino={root} mode=644 text=g len=40"), 2)); // longer than the grant
        Is("EINVAL", $"getdents ino={root} pos=0 buf=8");
        Is("EINVAL", $"getdents ino={root} pos=3 buf=100");
        Is("EINVAL", $"putnode ino={root} count=2");
        Is("EINVAL", $"putnode ino={root} count=0");
        Is("EINVAL", $"chmod ino={root} mode=100755");
        Is("EINVAL", $"chown ino={root} owner=70000 group=0");
        Is("EINVAL", $"stat ino={root} uid=-5");
        Is("EACCES", $"create ino={root} mode=644 text=x uid=1000 gid=1000");

        // An open file outlives its name until its last reference goes.
        uint f = Ino(Ok($"create ino={root} mode=600 text=tmpfile"));
        var model = Array.Empty<byte>();
        Write(f, ref model, 0, 50_000, 7);
        Assert.Equal(f, Ino(Ok($"lookup ino={root} text=tmpfile"))); // a second reference
        Ok($"unlink ino={root} text=tmpfile");
        Is("ENOENT", $"lookup ino={root} text=tmpfile");
        ReadBack(f, model, 0, 60_000);
        Assert.Equal("0", Ok($"stat ino={f}")[5]);
        long freeBefore = long.Parse(Ok("statfs")[6], CultureInfo.InvariantCulture);
        Ok($"putnode ino={f} count=2");
        Is("EBADF", $"read ino={f} pos=0 buf=10");
        Assert.True(long.Parse(Ok("statfs")[6], CultureInfo.InvariantCulture) > freeBefore, "the unlinked file's blocks were not freed at its last PutNode");

        // Still the same instance, still serving.
        Assert.Equal(_mfs, RsKit.Ep(Rs.Row("mfs_test")));
        Assert.Equal("0", Rs.Row("mfs_test")[3]);
        uint d = Ino(Ok($"mkdir ino={root} mode=755 text=still"));
        Ok($"putnode ino={d}");
        uint n = Ino(Ok($"lookup ino={root} text={new string('n', FsCall.NameMax)}"));
        Is("EBUSY", "unmount");
        Ok($"putnode ino={n}");
        Ok("sync");
        MinixTools.AssertClean(img);
        // fsck.minix -l prints a name of the full 60 bytes cut to 59 (util-linux's display; the
        // entry itself holds 60, as getdents and lookup above show).
        Assert.Contains(new string('n', FsCall.NameMax), Names(root));
        Assert.Equal("/" + new string('n', FsCall.NameMax - 1) + "|/still", string.Join('|', MinixTools.ListNames(img)));
    }

    [MinixFact]
    public void KilledServer_IsRestartedByRs_AndMountedAgain_SeesWhatWasSynced()
    {
        string img = MinixTools.MakeImage(_tmp, 8192);
        Boot(img);
        uint root = Mount();
        uint f = Ino(Ok($"create ino={root} mode=644 text=kept"));
        var model = Array.Empty<byte>();
        Write(f, ref model, 0, 123_456, 3);
        Ok("sync");

        int old = _mfs;
        Assert.Equal(Bulkhead.Lib.Ipc.Err.Ok, Rs.Sys.Kernel.Kill(old, 9));
        Rs.WaitRestarts("mfs_test", 1);
        Rs.WaitState("mfs_test", "running");
        _mfs = RsKit.Ep(Rs.Row("mfs_test"));
        Assert.NotEqual(old, _mfs);
        Assert.Equal("EDEADSRCDST", Puppet.Field(Fs($"stat ino={root}", to: old), 1));
        Is("EBADF", $"stat ino={root}");   // the new instance holds no mount and no references
        Is("EBADF", $"read ino={f} pos=0 buf=10");
        root = Mount();
        f = Ino(Ok($"lookup ino={root} text=kept"));
        ReadBack(f, model, 0, 200_000);
        Ok($"putnode ino={f}");
        Ok("unmount");
        Is("EBADF", $"stat ino={root}");
        MinixTools.AssertClean(img);
    }
}
