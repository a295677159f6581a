// Bad input from the wire (issue 10, "Bad input"): Linux sends INET, through the driver, frames
// crafted with an AF_PACKET socket in python3 — bad IP, UDP and TCP checksums, truncated
// headers, IP options that run past the header, fragments that never complete, an ARP storm, a
// SYN flood from an address that never answers, garbage. INET drops each and counts it by reason
// (what `./bulkhead stats --net` shows: the netstat program), answers pings all along, and its
// memory stays level round after round.
using System.Globalization;
using Bulkhead.Tests.Harness;

namespace Bulkhead.Drivers.Tests.Net;

public sealed class InetBadInputTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private InetTapKit? _kit;

    public void Dispose() => _kit?.Dispose();

    private Dictionary<string, long> Counters()
    {
        var (status, stdout, stderr) = UserProgramRun.Run(_kit!.Rs.Sys.Kernel, 30_000, "netstat");
        Assert.True(status == 0, stderr);
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n'))
        {
            var w = line.Split(' ');
            if (w.Length == 3 && w[0] == "drop") counters[w[1]] = long.Parse(w[2], CultureInfo.InvariantCulture);
            else if (w.Length == 2 && long.TryParse(w[1], CultureInfo.InvariantCulture, out long v)) counters[w[0]] = v;
        }
        return counters;
    }

    [TapFact]
    public void CraftedFrames_AreDroppedAndCounted_InetAnswersAndStaysBounded()
    {
        _kit = InetTapKit.Boot(output, "rtl8139");
        using var daytimed = UserProgramRun.Start(_kit.Rs.Sys.Kernel, "daytimed");
        int inet = int.Parse(_kit.Rs.Row("inet")[1], CultureInfo.InvariantCulture);
        var rss = new List<long>();
        for (int round = 0; round < 10; round++)
        {
            string report = _kit.Tap.Python(Script, [_kit.Inet, "52:54:00:12:34:56"], 120_000);
            if (round == 0) output.WriteLine(report);
            Assert.Equal("alive", report.Trim().Split('\n')[^1]); // INET answered a ping after the barrage
            rss.Add(HostRss.AnonKiB(_kit.Rs.Sys, inet));
        }
        output.WriteLine("INET RssAnon KiB by round: " + string.Join(' ', rss));
        var c = Counters();
        output.WriteLine(string.Join('\n', c.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var reason in new[] { "BadIpChecksum", "TruncatedHeader", "OptionsPastHeader", "MalformedIp", "BadUdpChecksum",
                                       "BadTcpChecksum", "TcpOptionsPastHeader", "ReassemblyOverflow", "ArpStormLimit", "SynBacklogFull",
                                       "BadIcmpChecksum", "UnknownEtherType" })
            Assert.True(c.GetValueOrDefault(reason) > 0, $"no {reason} counted");
        Assert.Equal(inet.ToString(CultureInfo.InvariantCulture), _kit.Rs.Row("inet")[1]); // never restarted
        // Tiered compilation and the first collections are steps of their own in the first
        // rounds. After them the heap still creeps up by a few KiB a round until a collection
        // comes (measured: 76 and 208 KiB over rounds 4-9, with 4 of 5 rounds growing in the
        // second), so the number of rounds that grew says nothing here; the amount does: state
        // kept at 120 bytes or more per crafted frame (~4,350 of them in rounds 5-9) passes 512 KiB.
        Assert.True(rss[^1] - rss[4] < 512, $"INET grew by {rss[^1] - rss[4]} KiB over the last rounds: {string.Join(' ', rss)}");
    }

    // argv: inet_address inet_mac. Sends every kind of bad frame from the TAP's Linux end, then
    // pings INET (a raw ICMP socket) and prints "alive" when it answers.
    private const string Script = """
        import os, random, socket, struct, sys, time, select
        dst, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
        ifname = [n for _, n in socket.if_nameindex() if n != "lo"][0]
        src_ip = [l.split()[3].split("/")[0] for l in os.popen("ip -4 -o addr show dev " + ifname)][0]
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((ifname, 0))
        me = s.getsockname()[4]
        def csum(b):
            if len(b) % 2: b += b"\0"
            v = sum(struct.unpack("!%dH" % (len(b) // 2), b))
            v = (v >> 16) + (v & 0xffff); v += v >> 16
            return ~v & 0xffff
        def ip(proto, payload, src=src_ip, ident=None, frag=0, opts=b"", good=True, ihl=None, total=None):
            ident = random.randrange(65536) if ident is None else ident
            hl = 20 + len(opts)
            h = struct.pack("!BBHHHBBH4s4s", 0x40 | ((ihl if ihl is not None else hl // 4) & 0xf), 0, total or hl + len(payload), ident, frag, 64, proto, 0,
                            socket.inet_aton(src), socket.inet_aton(dst)) + opts
            c = csum(h) if good else (csum(h) ^ 0x1234) or 1
            return h[:10] + struct.pack("!H", c) + h[12:] + payload
        def send(payload, etype=0x0800):
            s.send(mac + me + struct.pack("!H", etype) + payload)
            time.sleep(0.0004) # paced like a busy link, not faster than the card's ring drains
        def pseudo(proto, seg, src=src_ip):
            return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, len(seg))
        def udp(sport, dport, data, good=True):
            seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
            c = csum(pseudo(17, seg) + seg)
            c = c if good else c ^ 0x5555
            return seg[:6] + struct.pack("!H", c or 0xffff) + seg[8:]
        def tcp(sport, dport, seq, flags, good=True, src=src_ip, off=5, opts=b""):
            seg = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, off << 4, flags, 65535, 0, 0) + opts
            c = csum(pseudo(6, seg, src) + seg)
            c = c if good else c ^ 0x3333
            return seg[:16] + struct.pack("!H", c) + seg[18:]
        counts = {}
        def note(k): counts[k] = counts.get(k, 0) + 1
        for i in range(25):
            icmp = struct.pack("!BBHHH", 8, 0, 0, 1, i) + b"x" * 16
            icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
            send(ip(1, icmp, good=False)); note("bad ip checksum")
            bad_icmp = icmp[:2] + b"\x00\x01" + icmp[4:]
            send(ip(1, bad_icmp)); note("bad icmp checksum")
            send(ip(17, b"")[:10]); note("truncated ip")
            send(ip(17, udp(5000, 7, b"hello"), opts=b"\x07\x0a\x04\x00")); note("options past header")
            send(ip(17, udp(5000, 7, b"hello"), total=10)); note("malformed ip")
            send(ip(17, udp(5000, 7, b"hello", good=False))); note("bad udp checksum")
            send(ip(6, tcp(4000 + i, 13, 1000, 0x02, good=False))); note("bad tcp checksum")
            send(ip(6, tcp(4000 + i, 13, 1000, 0x02, off=6, opts=b"\x02\x08\x05\xb4"))); note("tcp options past header")
            send(os.urandom(random.randrange(1, 200)), etype=0x88b6); note("unknown ethertype")
            send(os.urandom(random.randrange(0, 60))); note("garbage ip")
        # Fragments that never complete: first pieces of 40 datagrams (more than INET reassembles at once).
        for i in range(40):
            send(ip(17, udp(5001, 9, b"y" * 200)[:64], ident=0x7000 + i, frag=0x2000)); note("lone fragment")
        # An ARP storm: 400 requests for INET's address in well under a second.
        for i in range(400):
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, me, socket.inet_aton(src_ip), b"\0" * 6, socket.inet_aton(dst))
            s.send(b"\xff" * 6 + me + struct.pack("!H", 0x0806) + arp); note("arp request")
            time.sleep(0.0004)
        # A SYN flood to daytimed's port from an address that never answers.
        for i in range(200):
            fake = "10.0.3.%d" % (100 + i % 100)
            send(ip(6, tcp(10000 + i, 13, random.randrange(1 << 32), 0x02, src=fake), src=fake)); note("spoofed syn")
        print(counts)
        # INET still answers pings.
        p = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        ok = False
        for q in range(20):
            h = struct.pack("!BBHHH", 8, 0, 0, os.getpid() & 0xffff, q) + b"alive?"
            h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
            p.sendto(h, (dst, 0))
            r, _, _ = select.select([p], [], [], 0.5)
            if r:
                ok = True
                break
        print("alive" if ok else "dead")
        """;
}
