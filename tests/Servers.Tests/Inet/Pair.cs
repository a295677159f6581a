// Two engines, A (10.0.0.1) and B (10.0.0.2) on 10.0.0.0/24, joined by one SimNet link; the
// common fixture of the engine tests. Readiness edges of both are recorded.
using Bulkhead.Servers.Inet;
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

internal sealed class Pair : ISocketObserver
{
    public static readonly Ip4Address AddrA = Ip4Address.Parse("10.0.0.1");
    public static readonly Ip4Address AddrB = Ip4Address.Parse("10.0.0.2");
    public static readonly MacAddress MacA = new(0x02_00_00_00_00_01);
    public static readonly MacAddress MacB = new(0x02_00_00_00_00_02);
    public static readonly Ip4Address Mask24 = Ip4Address.Parse("255.255.255.0");

    public Pair(int seed = 1, int mtu = 1500)
    {
        Net = new SimNet(seed);
        A = new NetEngine(seed * 2 + 1, this);
        B = new NetEngine(seed * 2 + 2, this);
        PortA = Net.Port(A);
        PortB = Net.Port(B);
        SimNet.Connect(PortA, PortB);
        Net.AddEngine(A);
        Net.AddEngine(B);
        A.AddInterface("eth0", MacA, AddrA, Mask24, PortA, mtu);
        B.AddInterface("eth0", MacB, AddrB, Mask24, PortB, mtu);
    }

    public SimNet Net { get; }
    public NetEngine A { get; }
    public NetEngine B { get; }
    public SimPort PortA { get; }
    public SimPort PortB { get; }
    public List<(NetSocket Socket, Readiness Readiness)> Events { get; } = [];

    public void ReadinessChanged(NetSocket socket) => Events.Add((socket, socket.Readiness));

    public bool Run(Func<bool> done, long limitUs = 10 * NetLimits.Second) => Net.Run(done, limitUs);
}
