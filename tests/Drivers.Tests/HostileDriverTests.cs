// The hostile-driver suite (thesis Fig. 3.1, Fig. 5.5): a driver whose privileges are those of
// a third card (ports 0x340–0x35F, IRQ 11, the usual driver kernel calls, IPC only to RS and DS)
// tries everything Fig. 3.1 lists — another card's ports (DEVIO and mixed VDEVIO vectors), IRQ
// lines not its own, grants it was not given or with rights it was not given, kernel calls
// outside its policy, unknown kernel calls, IPC outside its targets, invalid primitives. Each
// attempt must be refused with the MINIX error and counted in exactly its Fig. 5.5 category,
// while the real dp8390 driver keeps exchanging frames byte for byte with its client, the idle
// card is untouched, and no other process has a denial. The table `stats --denials` prints is
// checked against the attack.
using Bulkhead.Kernel;
using Bulkhead.Kernel.Main.Control;
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;
using Bulkhead.Machine.Net;
using Xunit.Abstractions;

namespace Bulkhead.Drivers.Tests;

public sealed class HostileDriverTests : IDisposable
{
    private static readonly byte[] Mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    private static readonly byte[] IdleMac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x57];
    private static readonly byte[] Peer = [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF];
    private static readonly string Image = Path.Combine(AppContext.BaseDirectory, "bulkhead-image");

    private readonly ITestOutputHelper _out;
    private readonly TestSystem _sys;
    private readonly PeerBackend _wire;
    private readonly List<byte[]> _onWire = [];
    private readonly Ne2000 _idle;
    private readonly Ne2000 _idleTwin; // never wired to anything: what an untouched card reads like
    private readonly CountingLine _idleIrq;
    private readonly List<byte[]> _idleWire = [];
    private readonly long[] _expected = new long[DenialText.Count];

    public HostileDriverTests(ITestOutputHelper output)
    {
        _out = output;
        var io = new IoSpace();
        _sys = new TestSystem(io: io, output: output);
        var (nicSide, wire) = PeerBackend.Pair();
        _wire = wire;
        _wire.Attach(f =>
        {
            lock (_onWire) _onWire.Add(f.ToArray());
        });
        Assert.True(io.Register(0x300, 0x20, new Ne2000(Mac, _sys.Kernel.IrqLine(9), nicSide)));
        var (idleSide, idleWire) = PeerBackend.Pair();
        idleWire.Attach(f =>
        {
            lock (_idleWire) _idleWire.Add(f.ToArray());
        });
        _idleIrq = new CountingLine(_sys.Kernel.IrqLine(10));
        _idle = new Ne2000(IdleMac, _idleIrq, idleSide);
        Assert.True(io.Register(0x320, 0x20, _idle));
        var (twinSide, _) = PeerBackend.Pair();
        _idleTwin = new Ne2000(IdleMac, new CountingLine(null), twinSide);
    }

    public void Dispose() => _sys.Dispose();

    private int StartDriver()
    {
        var p = TestSystem.Privileges(calls: [KernelCall.DevIo, KernelCall.VDevIo, KernelCall.IrqCtl, KernelCall.SetGrant,
            KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.SysCtl], targets: [Endpoint.Rs, Endpoint.Ds]);
        p.AddIoRange(0x300, 0x20);
        p.AllowIrq(9);
        int ep = _sys.Kernel.Spawn(new ProcessSpec { Name = "eth0", Path = Image, Args = ["dp8390", "io=0x300", "irq=9"], Privileges = p });
        Assert.True(ep >= 0, $"spawn failed: {ep}");
        return ep;
    }

    /// <summary>A driver for a third card: its own ports and IRQ, driver calls, IPC to RS and DS only.</summary>
    private Puppet StartHostile()
    {
        var p = TestSystem.Privileges(calls: [KernelCall.DevIo, KernelCall.VDevIo, KernelCall.IrqCtl, KernelCall.SetGrant,
            KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.SysCtl], targets: [Endpoint.Rs, Endpoint.Ds]);
        Assert.True(p.AddIoRange(0x340, 0x20));
        p.AllowIrq(11);
        return _sys.StartPuppet("evil", p);
    }

    private static byte[] Frame(byte[] destination, int length, byte seed)
    {
        var f = new byte[length];
        destination.CopyTo(f, 0);
        Peer.CopyTo(f, 6);
        f[12] = 0x08;
        f[13] = 0x00;
        for (int i = 14; i < length; i++) f[i] = (byte)(seed + i * 7);
        return f;
    }

    /// <summary>One frame each way between the client and the wire, checked byte for byte.</summary>
    private void Exchange(Puppet client, int driver, int i)
    {
        var rx = Frame(Mac, 60 + (i * 37) % 1455, (byte)i);
        var answer = client.AskAsync($"net read {driver} 1514");
        TestSystem.WaitUntil(() => _sys.Find(client.Endpoint) is { } p && p.State == ProcState.Receiving && p.BlockedOn == driver,
            "the read to be posted");
        _wire.Send(rx);
        Assert.Equal($"r OK OK {rx.Length} {Convert.ToHexString(rx)}", Puppet.Await(answer));
        var tx = Frame(Peer, 60 + (i * 53) % 1455, (byte)(i + 100));
        int before;
        lock (_onWire) before = _onWire.Count;
        Assert.Equal("r OK OK", client.Ask($"net write {driver} {Convert.ToHexString(tx)}"));
        TestSystem.WaitUntil(() => { lock (_onWire) return _onWire.Count == before + 1; }, "frame " + i);
        lock (_onWire) Assert.Equal(tx, _onWire[before]);
    }

    /// <summary>Runs one attempt: its answer must start with <paramref name="answer"/> and the
    /// kernel's counters must grow by one in <paramref name="why"/> (or not at all) and nowhere else.</summary>
    private void Attempt(Puppet evil, string command, string answer, Denial? why)
    {
        var before = _sys.Kernel.Denials();
        string got = evil.Ask(command);
        var after = _sys.Kernel.Denials();
        Assert.True(got.StartsWith(answer, StringComparison.Ordinal), $"'{command}': expected '{answer}…', got '{got}'");
        for (int i = 0; i < DenialText.Count; i++)
        {
            long want = why is { } w && (int)w == i ? 1 : 0;
            Assert.True(after[i] - before[i] == want,
                $"'{command}': {(Denial)i} grew by {after[i] - before[i]}, expected {want}");
        }
        if (why is { } d) _expected[(int)d]++;
        _out.WriteLine($"{command,-40} → {got,-28} {(why is { } c ? DenialText.Describe(c) : "(allowed)")}");
    }

    /// <summary>Every register of pages 0–2 as software reads them (the reset port and the
    /// remote-DMA data port are left alone: reading them has effects).</summary>
    private static byte[] Registers(Ne2000 card)
    {
        var regs = new List<byte>();
        uint cr = card.Read(0, 1);
        regs.Add((byte)cr);
        for (int page = 0; page < 3; page++)
        {
            card.Write(0, 1, (cr & 0x3F) | (uint)(page << 6));
            for (int off = 1; off < 0x10; off++) regs.Add((byte)card.Read(off, 1));
        }
        card.Write(0, 1, cr);
        return [.. regs];
    }

    [Fact]
    public void HostileDriver_IsDeniedEverything_AndNobodyElseNotices()
    {
        int drv = StartDriver();
        // IPC between the driver and its client only (send masks are symmetric); nobody has ALL targets.
        var client = _sys.StartPuppet("inet", TestSystem.Privileges(calls: [KernelCall.SetGrant, KernelCall.SysCtl], targets: [drv]));
        Assert.Equal($"r OK OK {Convert.ToHexString(Mac)} 1 1", client.Ask($"net conf {drv}"));
        var evil = StartHostile();
        int exchanged = 0;

        // Before: traffic flows.
        for (int i = 0; i < 3; i++) Exchange(client, drv, exchanged++);

        // The client gives the hostile driver one READ-only grant (64 bytes of a known pattern),
        // a grant it then revokes (stale id), and a grant meant for the dp8390 driver.
        long cbuf = Puppet.LongField(client.Ask("heap 4096"), 2);
        var pattern = Enumerable.Range(0, 64).Select(i => (byte)(0xA0 + i)).ToArray();
        Assert.Equal("r OK", client.Ask($"poke {cbuf} {Convert.ToHexString(pattern)}"));
        int readOnly = (int)Puppet.LongField(client.Ask($"grant {evil.Endpoint} {cbuf} 64 {Grant.Read}"), 2);
        int stale = (int)Puppet.LongField(client.Ask($"grant {evil.Endpoint} {cbuf + 64} 64 {Grant.ReadWrite}"), 2);
        Assert.Equal("r OK", client.Ask($"revoke {stale}"));
        int forDriver = (int)Puppet.LongField(client.Ask($"grant {drv} {cbuf + 128} 64 {Grant.ReadWrite}"), 2);
        long ebuf = Puppet.LongField(evil.Ask("heap 4096"), 2);
        var idleBefore = Registers(_idle);
        // Whatever the driver counted while starting without RS and DS is the baseline.
        var baseline = _sys.Kernel.Denials();
        var procBaseline = _sys.Kernel.ProcessTable().ToDictionary(p => p.Endpoint, p => p.Denials);
        _out.WriteLine($"baseline denials: {string.Join(' ', baseline)}");
        Assert.Equal(0, procBaseline[evil.Endpoint]);
        Assert.Equal(idleBefore, Registers(_idleTwin));

        // During: the client keeps exchanging frames while the hostile driver attacks.
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(() =>
        {
            int n = 0;
            while (!stop.IsCancellationRequested || n < 5) Exchange(client, drv, 1000 + n++);
            return n;
        });

        // What it may do works and is not counted.
        Attempt(evil, "in 832 1", "r OK", null);
        Attempt(evil, $"irqctl {IrqCtlRequest.SetPolicy} 11 0", "r OK", null);
        Attempt(evil, $"copyfrom {client.Endpoint} {readOnly} 0 {ebuf} 64", "r OK", null);
        Assert.Equal($"r OK {Convert.ToHexString(pattern)}", evil.Ask($"peek {ebuf} 64"));

        // Device I/O on the dp8390's card and on the idle card.
        Attempt(evil, "in 768 1", "r EPERM", Denial.DevicePortNotAllowed);            // 0x300 CR
        Attempt(evil, "out 768 1 33", "r EPERM", Denial.DevicePortNotAllowed);        // stop the card
        Attempt(evil, "in 784 2", "r EPERM", Denial.DevicePortNotAllowed);            // data port
        Attempt(evil, "in 799 1", "r EPERM", Denial.DevicePortNotAllowed);            // reset port
        Attempt(evil, "in 800 1", "r EPERM", Denial.DevicePortNotAllowed);            // 0x320 idle CR
        Attempt(evil, "out 800 1 34", "r EPERM", Denial.DevicePortNotAllowed);
        Attempt(evil, "out 815 1 255", "r EPERM", Denial.DevicePortNotAllowed);       // idle ISR
        Attempt(evil, "in 831 1", "r EPERM", Denial.DevicePortNotAllowed);            // idle reset port
        Attempt(evil, "in 830 4", "r EPERM", Denial.DevicePortNotAllowed);            // straddles into its own range
        Attempt(evil, "in 2147483647 4", "r EPERM", Denial.DevicePortNotAllowed);     // would wrap port + size
        Attempt(evil, "in -1 2", "r EPERM", Denial.DevicePortNotAllowed);
        Attempt(evil, "vio in 1 832 768", "r EPERM", Denial.DevicePortNotAllowed);    // one allowed, one not
        Attempt(evil, "vio out 1 832:1 800:33", "r EPERM", Denial.DevicePortNotAllowed);
        Attempt(evil, "vio out 1 833:1 799:0", "r EPERM", Denial.DevicePortNotAllowed);

        // IRQ lines not its own.
        Attempt(evil, $"irqctl {IrqCtlRequest.SetPolicy} 9 1", "r EPERM", Denial.DeviceIrqNotAllowed);
        Attempt(evil, $"irqctl {IrqCtlRequest.SetPolicy} 10 2", "r EPERM", Denial.DeviceIrqNotAllowed);

        // Grants it was not given, or with rights it was not given.
        Attempt(evil, $"copyto {client.Endpoint} {readOnly} 0 {ebuf} 64", "r EPERM", Denial.GrantAccessViolation);
        Attempt(evil, $"copyfrom {client.Endpoint} {forDriver} 0 {ebuf} 64", "r EPERM", Denial.GrantInvalidGrantor);
        Attempt(evil, $"copyto {client.Endpoint} {forDriver} 0 {ebuf} 64", "r EPERM", Denial.GrantInvalidGrantor);
        Attempt(evil, $"copyfrom {client.Endpoint} {stale} 0 {ebuf} 64", "r EPERM", Denial.GrantUnusedOrInvalid);
        Attempt(evil, $"copyfrom {client.Endpoint} {Grant.MakeId(0, 100_000)} 0 {ebuf} 64", "r EPERM", Denial.GrantIdOutOfRange);
        Attempt(evil, $"copyfrom {client.Endpoint} {readOnly} 32 {ebuf} 64", "r EPERM", Denial.GrantRegionExceeds);
        Attempt(evil, $"copyfrom {client.Endpoint} -5 0 {ebuf} 64", "r EINVAL", Denial.GrantInvalidGrantor);
        Attempt(evil, $"copyfrom ANY {readOnly} 0 {ebuf} 64", "r EINVAL", Denial.GrantInvalidGrantor);
        Attempt(evil, $"copyfrom {client.Endpoint} {readOnly} 0 -4096 64", "r EFAULT", Denial.MemoryOutsideArena);

        // Kernel calls outside its policy, and one that does not exist.
        Attempt(evil, $"kcall {KernelCall.Spawn}", "r ECALLDENIED", Denial.KernelCallNotAllowed);
        Attempt(evil, $"kcall {KernelCall.Kill} {drv} 9", "r ECALLDENIED", Denial.KernelCallNotAllowed);
        Attempt(evil, $"kcall {KernelCall.PrivCtl} {drv}", "r ECALLDENIED", Denial.KernelCallNotAllowed);
        Attempt(evil, $"kcall {KernelCall.SetAlarm} 1000", "r ECALLDENIED", Denial.KernelCallNotAllowed);
        Attempt(evil, "kcall 127", "r EBADREQUEST", Denial.InvalidKernelCall);
        Attempt(evil, "kcall 5000", "r EBADREQUEST", Denial.InvalidKernelCall);

        // IPC outside its targets, to no one, and with a primitive that does not exist.
        Attempt(evil, $"send {drv} 1", "r ECALLDENIED", Denial.UnauthorizedDestination);
        Attempt(evil, $"sendrec {drv} {Lib.Net.NetDriverCall.GetStat}", "r ECALLDENIED", Denial.UnauthorizedDestination);
        Attempt(evil, $"notify {client.Endpoint}", "r ECALLDENIED", Denial.UnauthorizedDestination);
        Attempt(evil, $"sendnb {client.Endpoint} 5", "r ECALLDENIED", Denial.UnauthorizedDestination);
        Attempt(evil, "send ANY 1", "r EINVAL", Denial.InvalidDestination);
        Attempt(evil, "trap 99 0", "r EBADCALL", Denial.InvalidPrimitive);

        stop.Cancel();
        Assert.True(traffic.Wait(60_000), "the traffic during the attack did not finish");
        int during = traffic.Result;
        exchanged += during;

        // After: traffic still flows, every frame made it, none was dropped.
        for (int i = 0; i < 3; i++) Exchange(client, drv, 2000 + i);
        exchanged += 3;
        Assert.Equal($"r OK OK {exchanged} {exchanged} 0 0 0 0 0", client.Ask($"net stat {drv}"));

        // The client's read-only buffer was never written.
        Assert.Equal($"r OK {Convert.ToHexString(pattern)}", client.Ask($"peek {cbuf} 64"));

        // The idle card: no register changed, nothing sent, its line never raised.
        Assert.Equal(idleBefore, Registers(_idle));
        Assert.Equal(Registers(_idleTwin), Registers(_idle));
        lock (_idleWire) Assert.Empty(_idleWire);
        Assert.Equal(0, _idleIrq.Asserted);

        // Exactly the attack's denials, all against the hostile driver.
        var denials = _sys.Kernel.Denials();
        Assert.Equal(_expected, denials.Zip(baseline, (a, b) => a - b).ToArray());
        foreach (var p in _sys.Kernel.ProcessTable())
            Assert.True(p.Endpoint == evil.Endpoint ? p.Denials == _expected.Sum() : p.Denials == procBaseline[p.Endpoint],
                $"{p.Name} ({p.Endpoint}) has {p.Denials} denials, {procBaseline[p.Endpoint]} before the attack");
        denials = _expected.Zip(baseline, (a, b) => a + b).ToArray();

        // The table `bulkhead stats --denials` prints.
        string table = Reports.Denials(denials);
        _out.WriteLine(table);
        var rows = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < DenialText.Count; i++)
        {
            var d = (Denial)i;
            var row = Assert.Single(rows, r => r.Contains(DenialText.Describe(d), StringComparison.Ordinal));
            Assert.StartsWith(DenialText.Group(d), row, StringComparison.Ordinal);
            Assert.EndsWith(" " + denials[i], row.TrimEnd(), StringComparison.Ordinal);
        }
        Assert.EndsWith(" " + denials.Sum(), rows.Single(r => r.StartsWith("total", StringComparison.Ordinal)).TrimEnd(), StringComparison.Ordinal);
        Assert.All(new[] { Denial.DevicePortNotAllowed, Denial.DeviceIrqNotAllowed, Denial.GrantAccessViolation, Denial.GrantInvalidGrantor,
                           Denial.GrantUnusedOrInvalid, Denial.GrantIdOutOfRange, Denial.GrantRegionExceeds, Denial.KernelCallNotAllowed,
                           Denial.InvalidKernelCall, Denial.UnauthorizedDestination, Denial.InvalidDestination, Denial.InvalidPrimitive },
            d => Assert.True(_expected[(int)d] > 0, $"{d} not exercised"));
        Assert.Equal(14, _expected[(int)Denial.DevicePortNotAllowed]);
        Assert.Equal(2, _expected[(int)Denial.DeviceIrqNotAllowed]);
        _out.WriteLine($"frames exchanged: {exchanged} ({during} during the attack)");
    }

    /// <summary>Forwards an IRQ line and counts how often it was raised.</summary>
    private sealed class CountingLine(IIrqLine? inner) : IIrqLine
    {
        private int _asserted;
        public int Number => inner?.Number ?? 10;
        public int Asserted => Volatile.Read(ref _asserted);

        public void Set(bool asserted)
        {
            if (asserted) Interlocked.Increment(ref _asserted);
            inner?.Set(asserted);
        }
    }
}
