// Shared pieces of the network-driver tests: a Card is one network card model plus the
// driver that runs it, so a test that joins two systems can take the card on each side as a
// parameter: the NE2000 with dp8390, and the RTL8139 on a PCI bus behind an IOMMU with rtl8139
// (which also brings up the trusted PCI-bus and IOMMU drivers).
// Frame builds a test Ethernet frame with a recognisable payload; PostRead posts a `net read`
// from a puppet and waits until the driver holds it (or the request already failed, e.g.
// because the driver died).
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Sys;
using Bulkhead.Machine;
using Bulkhead.Machine.Devices.Ne2000;
using Bulkhead.Machine.Devices.Rtl8139;
using Bulkhead.Machine.Pci;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Net;

namespace Bulkhead.Drivers.Tests.Net;

public static class NetTestKit
{
    public static readonly byte[] Broadcast = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

    /// <summary>A card model and its driver.</summary>
    public abstract class Card
    {
        public abstract string Name { get; }

        /// <summary>Builds a machine with this card on it (station address <paramref name="mac"/>,
        /// frames to and from <paramref name="backend"/>) and a system with PM, DS and RS on it.</summary>
        public abstract RsSystem Boot(Xunit.Abstractions.ITestOutputHelper? output, INicBackend backend, byte[] mac, params string[] rsTunables);

        /// <summary>The `rs-spec up` fields that start this card's driver under RS as <paramref name="label"/>.</summary>
        public abstract string UpSpec(string label);

        public override string ToString() => Name;
    }

    /// <summary>The NE2000 at 0x300, IRQ 9, run by bulkhead-image dp8390 under etc/drivers.conf's dp8390 policy.</summary>
    private sealed class Ne2000Card : Card
    {
        public override string Name => "dp8390";

        public override RsSystem Boot(Xunit.Abstractions.ITestOutputHelper? output, INicBackend backend, byte[] mac, params string[] rsTunables)
        {
            var io = new IoSpace();
            var rs = new RsSystem(output, io, rsTunables);
            try
            {
                Assert.True(io.Register(0x300, 0x20, new Ne2000(mac, rs.Sys.Kernel.IrqLine(9), backend)));
                return rs;
            }
            catch
            {
                rs.Dispose();
                throw;
            }
        }

        public override string UpSpec(string label) => $"label={label};binary={RsSystem.Image};args=dp8390 io=0x300 irq=9;policy=dp8390";
    }

    /// <summary>An RTL8139 at PCI 00:03.0 (I/O 0xC000, IRQ 11) behind the IOMMU, run by
    /// bulkhead-image rtl8139 under etc/drivers.conf's rtl8139 policy, which gets its device from
    /// the PCI-bus driver.</summary>
    private sealed class Rtl8139Card : Card
    {
        public static readonly PciAddress Address = new(0, 3, 0);

        public override string Name => "rtl8139";

        public override RsSystem Boot(Xunit.Abstractions.ITestOutputHelper? output, INicBackend backend, byte[] mac, params string[] rsTunables)
        {
            var board = new Board();
            return new RsSystem(output, board, kernel =>
            {
                var nic = new Rtl8139Device(mac, kernel.IrqLine(11), backend, board.Iommu.Port(Address.RequesterId));
                Assert.Null(board.PlugPci(Address, nic.Config, nic, 0xC000, 11));
            }, rsTunables);
        }

        public override string UpSpec(string label) => $"label={label};binary={RsSystem.Image};args=rtl8139;policy=rtl8139";
    }

    /// <summary>The cards by driver name (theory data carries the names).</summary>
    public static Card CardNamed(string name) => name switch
    {
        "dp8390" => new Ne2000Card(),
        "rtl8139" => new Rtl8139Card(),
        _ => throw new ArgumentException($"no card for driver '{name}'", nameof(name)),
    };

    /// <summary>An IPv4-typed frame of <paramref name="length"/> bytes from <paramref name="source"/>
    /// to <paramref name="destination"/>, its payload a pattern of <paramref name="seed"/>.</summary>
    public static byte[] Frame(byte[] destination, byte[] source, int length, byte seed)
    {
        var f = new byte[length];
        destination.CopyTo(f, 0);
        source.CopyTo(f, 6);
        f[12] = 0x08;
        f[13] = 0x00;
        for (int i = 14; i < length; i++) f[i] = (byte)(seed + i * 7);
        return f;
    }

    /// <summary>Posts a `net read` from <paramref name="client"/> to <paramref name="driver"/> and
    /// waits until the driver holds it or the request has already been answered.</summary>
    public static Task<string> PostRead(TestSystem sys, Puppet client, int driver, int length = 1514)
    {
        var answer = client.AskAsync($"net read {driver} {length}");
        TestSystem.WaitUntil(() => answer.IsCompleted
            || sys.Find(client.Endpoint) is { } p && p.State == ProcState.Receiving && p.BlockedOn == driver, "the read to be posted");
        return answer;
    }

    /// <summary>Keeps frames flowing both ways through <paramref name="driver"/> from another
    /// thread — <paramref name="client"/> writes a frame to <paramref name="peer"/>, posts a read
    /// and <paramref name="wire"/> sends it one frame for <paramref name="mac"/> —
    /// runs <paramref name="kill"/> once traffic flows, and returns when the loop has noticed the
    /// dead driver. Every read that completes carries its frame byte for byte; frames cut off by
    /// the kill end the loop.</summary>
    public static void KillMidTraffic(Puppet client, int driver, PeerBackend wire, byte[] mac, byte[] peer, Action kill)
    {
        int iterations = 0;
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                var tx = Frame(peer, mac, 60 + (i * 53) % 1455, (byte)(i + 7));
                if (client.Ask($"net write {driver} {Convert.ToHexString(tx)}") != "r OK OK") return;
                var answer = client.AskAsync($"net read {driver} 1514");
                var rx = Frame(mac, peer, 60 + (i * 37) % 1455, (byte)(i + 50));
                // Once: a frame that arrives before the read is posted waits in the driver's
                // receive queue (a second copy would answer the next round's read).
                wire.Send(rx);
                answer.Wait(15_000);
                if (!answer.IsCompleted || !answer.Result.StartsWith("r OK OK", StringComparison.Ordinal)) return;
                Assert.Equal(ReadAnswer(rx), answer.Result);
                Interlocked.Increment(ref iterations);
            }
        });
        TestSystem.WaitUntil(() => Volatile.Read(ref iterations) >= 5 || traffic.IsCompleted, "traffic to flow");
        Assert.False(traffic.IsCompleted, "traffic stopped before the kill");
        kill();
        Assert.True(traffic.Wait(30_000), "the traffic loop did not notice the dead driver");
        stop.Cancel();
        traffic.GetAwaiter().GetResult(); // surfaces a corrupted frame, if any
    }

    /// <summary>The answer a completed `net read` gives for <paramref name="frame"/>.</summary>
    public static string ReadAnswer(byte[] frame) => $"r OK OK {frame.Length} {Convert.ToHexString(frame)}";
}
