// One Ethernet interface of the engine: its addresses, its link to a driver (INetLink), its ARP
// cache and whether its driver is up. While down (driver crashed, thesis §4.3.1) outgoing frames
// wait in a bounded queue and are sent, after a gratuitous ARP, when the server reports the
// interface reset; what overflows the queue is dropped and counted, and TCP resends it.
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Inet.Link;

public sealed class NetInterface
{
    private readonly byte[][] _downQueue = new byte[NetLimits.DownQueueFrames][];
    private readonly int[] _downLength = new int[NetLimits.DownQueueFrames];
    private int _downCount;
    private long _arpBucketSecond = -1;
    private int _arpBucketUsed;

    internal NetInterface(int index, string name, MacAddress mac, Ip4Address address, Ip4Address netmask, int mtu, INetLink link)
    {
        Index = index;
        Name = name;
        Mac = mac;
        Address = address;
        Netmask = netmask;
        Mtu = mtu;
        Link = link;
        Arp = new ArpCache();
    }

    public int Index { get; }
    public string Name { get; }
    public MacAddress Mac { get; internal set; }
    public Ip4Address Address { get; }
    public Ip4Address Netmask { get; }
    public int Mtu { get; }
    public bool Up { get; internal set; } = true;
    internal INetLink Link { get; set; }
    internal ArpCache Arp { get; }

    public Ip4Address Network => new(Address.Value & Netmask.Value);
    public Ip4Address DirectedBroadcast => new(Address.Value | ~Netmask.Value);
    public int QueuedWhileDown => _downCount;

    public bool OnLink(Ip4Address a) => (a.Value & Netmask.Value) == Network.Value;

    /// <summary>Keeps a copy of a frame while the interface is down; false when the queue is full.</summary>
    internal bool QueueWhileDown(ReadOnlySpan<byte> frame)
    {
        if (_downCount == _downQueue.Length) return false;
        var slot = _downQueue[_downCount] ??= new byte[NetLimits.EthernetHeader + NetLimits.MaxMtu];
        frame.CopyTo(slot);
        _downLength[_downCount++] = frame.Length;
        return true;
    }

    /// <summary>Hands the frames kept while down to the link, oldest first.</summary>
    internal int FlushDownQueue()
    {
        int n = _downCount;
        for (int i = 0; i < n; i++) Link.Transmit(_downQueue[i].AsSpan(0, _downLength[i]));
        _downCount = 0;
        return n;
    }

    /// <summary>True if one more ARP reply fits this second's budget (ARP storm limit).</summary>
    internal bool TakeArpToken(long now)
    {
        long second = now / NetLimits.Second;
        if (second != _arpBucketSecond)
        {
            _arpBucketSecond = second;
            _arpBucketUsed = 0;
        }
        if (_arpBucketUsed >= NetLimits.ArpRepliesPerSecond) return false;
        _arpBucketUsed++;
        return true;
    }

    public override string ToString() => $"{Name} {Mac} {Address}/{Netmask.PrefixLength} mtu {Mtu}{(Up ? "" : " down")}";
}
