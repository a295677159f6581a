// Message numbers are wire constants between separately built processes, so they are written
// out here as a golden list and compared with the code by reflection: renumbering a request,
// reusing a number or adding a constant without writing it here fails with the difference.
// Every protocol is a *Call class of the library with a Base taken from the registry
// (Protocols); every request lies in its protocol's range [Base, Base + Protocols.Span), and no
// two requests of all protocols share a number (there is no deliberate exception). Kernel-call
// constants are call numbers; their m_type is KernelCall.Base + number, which is what is listed.
using System.Globalization;
using System.Reflection;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Lib.Tests.Messages;

public sealed class NumberTests
{
    /// <summary>The registry, append-only: a protocol's base never changes and is never reused.</summary>
    private static readonly string[] GoldenBases =
    [
        "Kernel = 0x600",
        "Rs = 0x700",
        "Ds = 0x800",
        "TestDriver = 0x900",
        "NetDriver = 0xA00",
        "Pci = 0xB00",
        "Iommu = 0xC00",
        "Pm = 0xD00",
        "Inet = 0xE00",
        "BlockDriver = 0xF00",
        "Fs = 0x1100",
        "Vfs = 0x1200",
        "Notify = 0x1000",
    ];

    /// <summary>Every request of every protocol, as its m_type, in protocol and number order.</summary>
    private static readonly string[] GoldenRequests =
    [
        "BlockDriverCall.Open = 0xF01",
        "BlockDriverCall.Close = 0xF02",
        "BlockDriverCall.Read = 0xF03",
        "BlockDriverCall.Write = 0xF04",
        "BlockDriverCall.Gather = 0xF05",
        "BlockDriverCall.Scatter = 0xF06",
        "BlockDriverCall.Ioctl = 0xF07",
        "BlockDriverCall.Flush = 0xF08",
        "DsCall.Publish = 0x800",
        "DsCall.Retrieve = 0x801",
        "DsCall.Subscribe = 0x802",
        "DsCall.Check = 0x803",
        "DsCall.Delete = 0x804",
        "DsCall.Snapshot = 0x805",
        "DsCall.RetrieveLabel = 0x806",
        "FsCall.Mount = 0x1101",
        "FsCall.Unmount = 0x1102",
        "FsCall.Lookup = 0x1103",
        "FsCall.Create = 0x1104",
        "FsCall.Mkdir = 0x1105",
        "FsCall.Symlink = 0x1106",
        "FsCall.Unlink = 0x1107",
        "FsCall.Rmdir = 0x1108",
        "FsCall.Link = 0x1109",
        "FsCall.Rename = 0x110A",
        "FsCall.ReadLink = 0x110B",
        "FsCall.Read = 0x110C",
        "FsCall.Write = 0x110D",
        "FsCall.Truncate = 0x110E",
        "FsCall.GetDents = 0x110F",
        "FsCall.Stat = 0x1110",
        "FsCall.Chmod = 0x1111",
        "FsCall.Chown = 0x1112",
        "FsCall.Utime = 0x1113",
        "FsCall.PutNode = 0x1114",
        "FsCall.Sync = 0x1115",
        "FsCall.StatFs = 0x1116",
        "InetCall.TcpConnect = 0xE01",
        "InetCall.TcpListen = 0xE02",
        "InetCall.Accept = 0xE03",
        "InetCall.UdpOpen = 0xE04",
        "InetCall.EchoOpen = 0xE05",
        "InetCall.Send = 0xE06",
        "InetCall.Recv = 0xE07",
        "InetCall.Shutdown = 0xE08",
        "InetCall.Close = 0xE09",
        "InetCall.Poll = 0xE0A",
        "InetCall.SetOption = 0xE0B",
        "InetCall.Stats = 0xE0C",
        "IommuCall.Map = 0xC00",
        "IommuCall.Unmap = 0xC01",
        "IommuCall.Reset = 0xC02",
        "IommuCall.Status = 0xC03",
        "KernelCall.PrivCtl = 0x604",
        "KernelCall.Kill = 0x606",
        "KernelCall.GetKsig = 0x607",
        "KernelCall.Umap = 0x60E",
        "KernelCall.IrqCtl = 0x613",
        "KernelCall.DevIo = 0x615",
        "KernelCall.VDevIo = 0x617",
        "KernelCall.SetAlarm = 0x618",
        "KernelCall.Times = 0x619",
        "KernelCall.GetInfo = 0x61A",
        "KernelCall.SafeCopyFrom = 0x61F",
        "KernelCall.SafeCopyTo = 0x620",
        "KernelCall.VSafeCopy = 0x621",
        "KernelCall.SetGrant = 0x622",
        "KernelCall.SysCtl = 0x62C",
        "KernelCall.Spawn = 0x63C",
        "KernelCall.MapDma = 0x63D",
        "KernelCall.Image = 0x63E",
        "NetDriverCall.Conf = 0xA01",
        "NetDriverCall.Write = 0xA02",
        "NetDriverCall.Read = 0xA03",
        "NetDriverCall.GetStat = 0xA04",
        "NetDriverCall.Fault = 0xA05",
        "PciCall.SetAcl = 0xB00",
        "PciCall.DelAcl = 0xB01",
        "PciCall.FirstDev = 0xB02",
        "PciCall.NextDev = 0xB03",
        "PciCall.Reserve = 0xB04",
        "PciCall.Release = 0xB05",
        "PciCall.ReadConfig = 0xB06",
        "PciCall.WriteConfig = 0xB07",
        "PciCall.CheckOwner = 0xB08",
        "PmCall.Start = 0xD01",
        "PmCall.Kill = 0xD02",
        "PmCall.Wait = 0xD03",
        "PmCall.StartBoot = 0xD04",
        "RsCall.Up = 0x701",
        "RsCall.Down = 0x702",
        "RsCall.Refresh = 0x703",
        "RsCall.Restart = 0x704",
        "RsCall.Update = 0x705",
        "RsCall.List = 0x706",
        "RsCall.Complain = 0x707",
        "RsCall.CrashReport = 0x708",
        "RsCall.InitDone = 0x709",
        "RsCall.Alive = 0x70A",
        "RsCall.SaveState = 0x70B",
        "RsCall.StateSaved = 0x70C",
        "TestDriverCall.Read = 0x901",
        "TestDriverCall.Write = 0x902",
        "TestDriverCall.Fail = 0x903",
        "TestDriverCall.ComplainAbout = 0x904",
        "TestDriverCall.Check = 0x905",
        "TestDriverCall.AskRs = 0x906",
        "TestDriverCall.RestartOf = 0x907",
        "VfsCall.Open = 0x1201",
        "VfsCall.Close = 0x1202",
        "VfsCall.Read = 0x1203",
        "VfsCall.Write = 0x1204",
        "VfsCall.Lseek = 0x1205",
        "VfsCall.PRead = 0x1206",
        "VfsCall.PWrite = 0x1207",
        "VfsCall.Stat = 0x1208",
        "VfsCall.LStat = 0x1209",
        "VfsCall.FStat = 0x120A",
        "VfsCall.GetDents = 0x120B",
        "VfsCall.Mkdir = 0x120C",
        "VfsCall.Rmdir = 0x120D",
        "VfsCall.Unlink = 0x120E",
        "VfsCall.Rename = 0x120F",
        "VfsCall.Link = 0x1210",
        "VfsCall.Symlink = 0x1211",
        "VfsCall.ReadLink = 0x1212",
        "VfsCall.Chdir = 0x1213",
        "VfsCall.Fchdir = 0x1214",
        "VfsCall.Chmod = 0x1215",
        "VfsCall.Chown = 0x1216",
        "VfsCall.Truncate = 0x1217",
        "VfsCall.Ftruncate = 0x1218",
        "VfsCall.Fsync = 0x1219",
        "VfsCall.Dup = 0x121A",
        "VfsCall.Dup2 = 0x121B",
        "VfsCall.Pipe = 0x121C",
        "VfsCall.Mount = 0x121D",
        "VfsCall.Umount = 0x121E",
        "VfsCall.Sync = 0x121F",
        "VfsCall.StatFs = 0x1220",
        "VfsCall.Mknod = 0x1221",
    ];

    /// <summary>The other constants of the *Call classes: limits, mode bits and fault modes that
    /// travel inside payloads. They are no m_type, so they are exempt from the range rules.</summary>
    private static readonly string[] GoldenOthers =
    [
        "BlockDriverCall.MaxTransfer = 0x400000",
        "BlockDriverCall.MaxVector = 0x40",
        "BlockDriverCall.AccessRead = 0x1",
        "BlockDriverCall.AccessWrite = 0x2",
        "BlockDriverCall.IoctlGeometry = 0x1",
        "BlockDriverCall.IoctlRamSize = 0x2",
        "BlockDriverCall.Partitions = 0x4",
        "BlockDriverCall.FlagContentsLost = 0x1",
        "FsCall.MaxTransfer = 0x100000",
        "FsCall.NameMax = 0x3C",
        "FsCall.PathMax = 0x1000",
        "FsCall.MountReadOnly = 0x1",
        "InetCall.NonBlocking = 0x1",
        "InetCall.MaxTransfer = 0x40000",
        "InetCall.MaxPoll = 0x40",
        "InetCall.MaxSocketsPerOwner = 0x80",
        "InetCall.OptionNoDelay = 0x1",
        "KernelCall.Count = 0x80",
        "NetDriverCall.MaxFrame = 0x5EA",
        "NetDriverCall.MinFrame = 0x3C",
        "NetDriverCall.HeaderLength = 0xE",
        "NetDriverCall.ModeBroadcast = 0x1",
        "NetDriverCall.ModeMulticast = 0x2",
        "NetDriverCall.ModePromiscuous = 0x4",
        "NetDriverCall.ModeMask = 0x7",
        "NetDriverCall.RxQueueFrames = 0x100",
        "NetDriverCall.FaultNone = 0x0",
        "NetDriverCall.FaultWrongRequest = 0x1",
        "NetDriverCall.FaultGarbage = 0x2",
        "NetDriverCall.FaultSilent = 0x3",
        "NetDriverCall.FaultReadErrors = 0x4",
        "TestDriverCall.BadPointer = 0x1",
        "TestDriverCall.DivideByZero = 0x2",
        "TestDriverCall.Panic = 0x3",
        "TestDriverCall.Exit = 0x4",
        "TestDriverCall.InfiniteLoop = 0x5",
        "TestDriverCall.BlockInIpc = 0x6",
        "TestDriverCall.ProtocolViolation = 0x7",
        "TestDriverCall.WildPointer = 0x8",
        "VfsCall.MaxFdsPerProcess = 0x40",
        "VfsCall.MaxOpenFiles = 0x400",
        "VfsCall.PathMax = 0x1000",
        "VfsCall.SymlinkMax = 0x8",
        "VfsCall.MaxTransfer = 0x40000",
        "VfsCall.PipeBuffer = 0x10000",
        "VfsCall.MaxMounts = 0x10",
        "VfsCall.O_RDONLY = 0x0",
        "VfsCall.O_WRONLY = 0x1",
        "VfsCall.O_RDWR = 0x2",
        "VfsCall.O_ACCMODE = 0x3",
        "VfsCall.O_CREAT = 0x40",
        "VfsCall.O_EXCL = 0x80",
        "VfsCall.O_TRUNC = 0x200",
        "VfsCall.O_APPEND = 0x400",
        "VfsCall.O_NONBLOCK = 0x800",
        "VfsCall.O_DIRECTORY = 0x10000",
        "VfsCall.O_NOFOLLOW = 0x20000",
        "VfsCall.OpenFlags = 0x30EC3",
        "VfsCall.SeekSet = 0x0",
        "VfsCall.SeekCur = 0x1",
        "VfsCall.SeekEnd = 0x2",
        "VfsCall.MountReadOnly = 0x1",
    ];

    /// <summary>Classes of the library named *Call that are stubs, not protocols (no Base).</summary>
    private static readonly string[] Stubs = ["IpcCall", "SysCall"];

    /// <summary>One constant of a protocol; Request = an m_type (not one of GoldenOthers).</summary>
    private sealed record Constant(Type Protocol, string Name, int Value, bool Request)
    {
        public string Text => $"{Protocol.Name}.{Name} = 0x{Value.ToString("X", CultureInfo.InvariantCulture)}";
    }

    private static IEnumerable<FieldInfo> IntConstants(Type t) =>
        t.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(int));

    private static int Value(FieldInfo f) => (int)f.GetRawConstantValue()!;

    /// <summary>Every static class of the library whose name ends in "Call".</summary>
    private static List<Type> CallClasses() =>
        typeof(Protocols).Assembly.GetTypes()
            .Where(t => t.IsClass && t.IsAbstract && t.IsSealed && !t.IsNested && t.Name.EndsWith("Call", StringComparison.Ordinal))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToList();

    private static List<Type> ProtocolClasses() =>
        CallClasses().Where(t => IntConstants(t).Any(f => f.Name == "Base")).ToList();

    /// <summary>Every int constant of every protocol but Base, kernel calls as their m_type.</summary>
    private static List<Constant> Constants()
    {
        var others = GoldenOthers.Select(s => s.Split(" = ")[0]).ToHashSet();
        var list = new List<Constant>();
        foreach (var t in ProtocolClasses())
            foreach (var f in IntConstants(t).Where(f => f.Name != "Base"))
            {
                bool request = !others.Contains($"{t.Name}.{f.Name}");
                int value = request && t == typeof(KernelCall) ? KernelCall.Base + Value(f) : Value(f);
                list.Add(new Constant(t, f.Name, value, request));
            }
        return list;
    }

    private static int BaseOf(Type protocol) => Value(IntConstants(protocol).Single(f => f.Name == "Base"));

    [Fact]
    public void Registry_EqualsGoldenList()
    {
        var bases = IntConstants(typeof(Protocols)).Where(f => f.Name != nameof(Protocols.Span))
            .Select(f => $"{f.Name} = 0x{Value(f).ToString("X", CultureInfo.InvariantCulture)}");
        Assert.Equal(GoldenBases, bases);
        Assert.Equal(0x100, Protocols.Span);
    }

    [Fact]
    public void Registry_RangesAreAlignedAndDisjoint()
    {
        var bases = IntConstants(typeof(Protocols)).Where(f => f.Name != nameof(Protocols.Span)).Select(Value).ToList();
        Assert.All(bases, b => Assert.True(b > 0 && b % Protocols.Span == 0, $"base 0x{b:X} is not a positive multiple of Span"));
        Assert.Equal(bases.Count, bases.Distinct().Count());
        Assert.Equal(Protocols.Notify, NotifyPayload.MessageType);
    }

    [Fact]
    public void EveryCallClass_IsAProtocolOfTheRegistryOrAStub()
    {
        Assert.Equal(Stubs, CallClasses().Except(ProtocolClasses()).Select(t => t.Name));
        foreach (var t in ProtocolClasses())
        {
            string name = t.Name[..^"Call".Length];
            var entry = typeof(Protocols).GetField(name, BindingFlags.Public | BindingFlags.Static);
            Assert.True(entry is not null, $"{t.Name} has a Base but the registry (Protocols) has no {name}");
            Assert.True(Value(entry!) == BaseOf(t), $"{t.Name}.Base is 0x{BaseOf(t):X}, the registry's {name} is 0x{Value(entry!):X}");
        }
    }

    [Fact]
    public void Requests_EqualGoldenList()
    {
        var constants = Constants();
        Assert.Equal(GoldenOthers.Order(StringComparer.Ordinal), constants.Where(c => !c.Request).Select(c => c.Text).Order(StringComparer.Ordinal));
        var requests = constants.Where(c => c.Request).OrderBy(c => c.Protocol.Name, StringComparer.Ordinal).ThenBy(c => c.Value).Select(c => c.Text);
        Assert.Equal(GoldenRequests, requests);
    }

    [Fact]
    public void Requests_LieInTheirProtocolsRange()
    {
        foreach (var c in Constants().Where(c => c.Request))
        {
            int b = BaseOf(c.Protocol);
            Assert.True(c.Value >= b && c.Value < b + Protocols.Span,
                $"{c.Text} lies outside {c.Protocol.Name}'s range [0x{b:X}, 0x{b + Protocols.Span:X})");
        }
        Assert.All(KernelCall.All, n => Assert.InRange(n, 0, Math.Min(KernelCall.Count, Protocols.Span) - 1));
    }

    [Fact]
    public void Requests_AreDistinctAcrossProtocols()
    {
        var requests = Constants().Where(c => c.Request).ToList();
        var shared = requests.GroupBy(c => c.Value).Where(g => g.Count() > 1)
            .Select(g => string.Join(" and ", g.Select(c => c.Text))).ToList();
        Assert.True(shared.Count == 0, "requests share a number: " + string.Join("; ", shared));
        Assert.DoesNotContain(requests, c => c.Value == NotifyPayload.MessageType);
    }

    [Fact]
    public void KernelCalls_EveryNumberHasOneNameAndParses()
    {
        var numbers = IntConstants(typeof(KernelCall)).Where(f => f.Name is not (nameof(KernelCall.Base) or nameof(KernelCall.Count)))
            .Select(Value).Order();
        Assert.Equal(numbers, KernelCall.All);
        foreach (int call in KernelCall.All)
        {
            Assert.True(KernelCall.TryParse(KernelCall.Name(call), out var parsed), KernelCall.Name(call));
            Assert.Contains(call, parsed);
        }
        Assert.Equal(KernelCall.All.Count(), KernelCall.All.Select(KernelCall.Name).Distinct().Count());
        Assert.False(KernelCall.TryParse("call5", out _));
        Assert.False(KernelCall.IsDefined(KernelCall.Count));
    }
}
