// A system for VFS tests: the machine's ATA disk over an image file formatted by our Mkfs,
// at_wini as c0d0, the memory driver, mfs as mfs_root and vfs mounting it on "/" — each under
// RS with its etc/drivers.conf policy, as etc/rc starts them — and programs: puppets with a
// user program's privileges (Kernel.UserPrograms) that make file calls through the library
// (`vfs ...`, tests/Components/VfsRequests.cs).
using Bulkhead.Kernel;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Ata;
using Bulkhead.Machine.Pci;
using Bulkhead.Machine.Storage;
using Bulkhead.Servers.Mfs;
using Bulkhead.Servers.Mfs.Device;
using Bulkhead.Servers.Tests.Mfs;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Servers.Tests.Vfs;

public sealed class VfsKit : IDisposable
{
    private static readonly PciAddress Address = new(0, 4, 0);
    private const int BusMaster = 0xC100, Irq = 14;

    private readonly TempDir _tmp = new();
    private readonly Board _board = new();
    private readonly DiskImage _image;

    public RsSystem Rs { get; }
    public string ImagePath { get; }

    public VfsKit(Xunit.Abstractions.ITestOutputHelper output, long diskBytes = 16L << 20)
    {
        ImagePath = _tmp.File("disk.img");
        using (var blank = File.Create(ImagePath)) blank.SetLength(diskBytes);
        using (var dev = new FileBlockDevice(ImagePath))
            Assert.Equal(MfsError.None, Mkfs.Format(dev, new Mkfs.Options(), out _));
        _image = DiskImage.Open(ImagePath, 0);
        Rs = new RsSystem(output, _board, kernel =>
        {
            var ata = new AtaController(_image, "BULKHEAD-disk0", kernel.IrqLine(Irq), _board.Iommu.Port(Address.RequesterId));
            Assert.Null(_board.PlugPci(Address, ata.Config, ata.BusMaster, BusMaster, Irq));
            Assert.True(_board.Io.Register(AtaRegisters.CommandBlockPorts, AtaRegisters.CommandBlockLength, ata.CommandBlock));
            Assert.True(_board.Io.Register(AtaRegisters.ControlBlockPort, AtaRegisters.ControlBlockLength, ata.ControlBlock));
        });
        Up("c0d0", "at_wini", "at_wini");
        Up("memory", "memory", "memory");
        Up("mfs_root", "mfs", "mfs");
        Up("vfs", "vfs root=mfs_root dev=c0d0:0", "vfs");
        TestSystem.WaitUntil(() => Rs.Sys.Console.Has("vfs: mounted mfs_root"), "vfs mounting mfs_root");
    }

    public int Up(string label, string args, string policy)
    {
        var up = Rs.Manager.Ask($"rs-spec up label={label};binary={RsSystem.Image};args={args};policy={policy}");
        Assert.True(Puppet.Field(up, 1) == "OK" && Puppet.Field(up, 2) == "OK", up);
        Rs.WaitState(label, "running");
        return RsKit.Ep(Rs.Row(label));
    }

    /// <summary>A new program (puppet) with a user's privileges.</summary>
    public Puppet Program(string name = "prog")
    {
        return Rs.Sys.StartPuppet(name, UserPrograms.Privileges());
    }

    public void Dispose()
    {
        Rs.Dispose();
        _image.Dispose();
        _tmp.Dispose();
    }
}

/// <summary>Asking a program for file calls.</summary>
public static class VfsAsk
{
    /// <summary>SHA-256 in hex, as the puppet reports data (VfsRequests).</summary>
    public static string Sha(ReadOnlySpan<byte> b) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(b));

    /// <summary>The bytes `vfs write FD SEED LEN` writes.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>The answer's fields after "r".</summary>
    public static string[] V(this Puppet p, string call, int timeoutMs = 30_000)
    {
        string a = p.Ask("vfs " + call, timeoutMs);
        Assert.True(a.StartsWith("r ", StringComparison.Ordinal), $"vfs {call}: {a}");
        return a[2..].Split(' ');
    }

    /// <summary>The call answered <paramref name="expected"/> (a count, a descriptor, OK or an Err name).</summary>
    public static string[] Is(this Puppet p, string expected, string call)
    {
        var f = p.V(call);
        Assert.True(f[0] == expected, $"vfs {call}: expected {expected}, got {string.Join(' ', f)}");
        return f;
    }

    public static int Fd(this Puppet p, string call)
    {
        var f = p.V(call);
        Assert.True(int.TryParse(f[0], out int fd) && fd >= 0, $"vfs {call}: expected a descriptor, got {string.Join(' ', f)}");
        return fd;
    }
}
