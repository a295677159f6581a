// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): a < b when the signed distance from
// a to b is positive, which holds while the two are less than 2^31 apart.
namespace Bulkhead.Servers.Inet.Tcp;

internal static class Seq
{
    public static bool Lt(uint a, uint b) => (int)(a - b) < 0;
    public static bool Le(uint a, uint b) => (int)(a - b) <= 0;
    public static bool Gt(uint a, uint b) => (int)(a - b) > 0;
    public static bool Ge(uint a, uint b) => (int)(a - b) >= 0;
    public static uint Max(uint a, uint b) => Gt(a, b) ? a : b;
    public static uint Min(uint a, uint b) => Lt(a, b) ? a : b;
}
