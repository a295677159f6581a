// Known answers for the Internet checksum (RFC 1071 §3's worked example, a textbook IPv4
// header, a UDP datagram computed by hand) and its properties: odd lengths pad with zero, a
// correct checksum sums to zero, piecewise sums equal the whole.
using Bulkhead.Servers.Inet.Wire;

namespace Bulkhead.Servers.Tests.Inet;

public class ChecksumTests
{
    [Fact]
    public void Sum_Rfc1071Example_GivesDdf2()
    {
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0x220d, Checksum.Compute(data)); // RFC 1071 §3: sum ddf2, complement 220d
    }

    [Fact]
    public void Compute_KnownIpv4Header_GivesB861()
    {
        byte[] h = Convert.FromHexString("450000730000400040110000c0a80001c0a800c7");
        Assert.Equal(0xb861, Checksum.Compute(h));
        h[10] = 0xb8;
        h[11] = 0x61;
        Assert.Equal(0, Checksum.Compute(h));
    }

    [Fact]
    public void Compute_OddLength_PadsWithZero()
    {
        byte[] odd = [0x12, 0x34, 0x56];
        byte[] even = [0x12, 0x34, 0x56, 0x00];
        Assert.Equal(Checksum.Compute(even), Checksum.Compute(odd));
        Assert.Equal(0x97cb, Checksum.Compute(odd)); // ~(0x1234 + 0x5600)
    }

    [Fact]
    public void Udp_HandComputedDatagram_MatchesPseudoHeaderSum()
    {
        // 10.0.0.1:1000 -> 10.0.0.2:2000, payload "hi". By hand:
        // pseudo 0a00+0001+0a00+0002+0011+000a = 0x141e; header 03e8+07d0+000a = 0x0bc2;
        // data 6869; total 0x141e+0x0bc2+0x6869 = 0x8849 -> checksum 0x77b6.
        var u = Frames.Udp(Ip4Address.Parse("10.0.0.1"), Ip4Address.Parse("10.0.0.2"), 1000, 2000, "hi"u8);
        Assert.Equal(0x77, u[6]);
        Assert.Equal(0xb6, u[7]);
    }

    [Fact]
    public void Sum_Piecewise_EqualsWhole()
    {
        var r = new Random(7);
        var data = new byte[1000];
        r.NextBytes(data);
        Assert.Equal(Checksum.Compute(data), Checksum.Finish(Checksum.Sum(data.AsSpan(500), Checksum.Sum(data.AsSpan(0, 500)))));
    }
}
