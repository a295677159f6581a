// Memory grants (thesis §3.3.2, Figs. 3.4–3.5; docs/reference.md "Memory grants"): SETGRANT,
// SAFECOPYFROM/SAFECOPYTO/VSAFECOPY through direct and indirect grants. Every validation rule
// has a test that checks the MINIX error and the Fig. 5.5 denial category it is counted in;
// data is checked byte for byte, including the bytes around a copy that must not change.
// Hostile grant tables are written raw with the puppet's "gentry" command.
// A copy from a dead (or stale) granter answers EDEADSRCDST, as for any dead endpoint in
// Bulkhead (MINIX answers EINVAL there; EINVAL is kept for endpoints that name no process).
#pragma warning disable CA1845 // string building in assertions: readability first
using Bulkhead.Tests.Harness;
using Bulkhead.Lib.Grants;
using Bulkhead.Lib.Ipc;
using Bulkhead.Lib.Sys;

namespace Bulkhead.Kernel.Tests.Grants;

[Collection(Collection)]
public sealed class GrantTests
{
    public const string Collection = "Grants";

    private static readonly int[] GrantCalls =
        [.. TestSystem.InfoCalls, KernelCall.SetGrant, KernelCall.SafeCopyFrom, KernelCall.SafeCopyTo, KernelCall.VSafeCopy];

    private static Puppet Start(TestSystem sys, string name) =>
        sys.StartPuppet(name, TestSystem.Privileges(calls: GrantCalls, flags: PrivilegeBlock.AllTargets));

    private static long Heap(Puppet p, int size)
    {
        var a = p.Ask($"heap {size}");
        Assert.StartsWith("r OK ", a);
        return Puppet.LongField(a, 2);
    }

    private static int GrantOk(string answer)
    {
        Assert.StartsWith("r OK ", answer);
        return (int)Puppet.LongField(answer, 2);
    }

    private static int Direct(Puppet p, int grantee, long offset, long len, int access) =>
        GrantOk(p.Ask($"grant {grantee} {offset} {len} {access}"));

    private static int Indirect(Puppet p, int grantee, int granter, int id, int access) =>
        GrantOk(p.Ask($"igrant {grantee} {granter} {id} {access}"));

    private static string Peek(Puppet p, long offset, int len)
    {
        var a = p.Ask($"peek {offset} {len}");
        Assert.StartsWith("r OK ", a);
        return Puppet.Field(a, 2);
    }

    private static string Pattern(int len, int seed) =>
        Convert.ToHexString(Enumerable.Range(0, len).Select(i => (byte)(i * 7 + seed)).ToArray());

    private static long[] Denials(TestSystem sys) => sys.Kernel.Denials();

    private static void AssertDenials(TestSystem sys, long[] before, params (Denial What, int N)[] expected) => DenialAssert.Moved(sys, before, expected);

    [Fact]
    public void Direct_CopyFromAndTo_ByteExactAndByteGranular()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 64), bbuf = Heap(b, 64);
        string data = Pattern(64, 3);
        Assert.Equal("r OK", a.Ask($"poke {abuf} {data}"));
        Assert.Equal("r OK", b.Ask($"poke {bbuf} {new string('0', 128)}"));
        // Grant 13 bytes starting at byte 5 of the buffer.
        int g = Direct(a, b.Endpoint, abuf + 5, 13, Grant.ReadWrite);
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g} 3 {bbuf + 1} 7"));
        Assert.Equal("00" + data.Substring((5 + 3) * 2, 14) + new string('0', 56 * 2), Peek(b, bbuf, 64));
        // The last byte of the grant, and a zero-length copy at its very end.
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g} 12 {bbuf + 40} 1"));
        Assert.Equal(data.Substring(17 * 2, 2), Peek(b, bbuf + 40, 1));
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g} 13 {bbuf} 0"));
        // Write 4 bytes into the middle of the grant: the neighbours stay as they were.
        Assert.Equal("r OK", b.Ask($"poke {bbuf + 50} DEADBEEF"));
        Assert.Equal("r OK", b.Ask($"copyto {a.Endpoint} {g} 6 {bbuf + 50} 4"));
        string expect = data[..((5 + 6) * 2)] + "DEADBEEF" + data[((5 + 6 + 4) * 2)..];
        Assert.Equal(expect, Peek(a, abuf, 64));
        AssertDenials(sys, new long[DenialText.Count]);
    }

    [Fact]
    public void Access_ReadOnlyAndWriteOnly_EPerm()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 32), bbuf = Heap(b, 32);
        a.Ask($"poke {abuf} {Pattern(32, 1)}");
        int ro = Direct(a, b.Endpoint, abuf, 32, Grant.Read);
        int wo = Direct(a, b.Endpoint, abuf, 32, Grant.Write);
        var before = Denials(sys);
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {ro} 0 {bbuf} 32"));
        Assert.Equal("r EPERM", b.Ask($"copyto {a.Endpoint} {ro} 0 {bbuf} 1"));
        Assert.Equal("r OK", b.Ask($"copyto {a.Endpoint} {wo} 0 {bbuf} 32"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {wo} 0 {bbuf} 1"));
        AssertDenials(sys, before, (Denial.GrantAccessViolation, 2));
        Assert.Equal(2, sys.Find(b.Endpoint)!.Value.Denials);
    }

    [Fact]
    public void Region_OutsideGrantOrOverflowing_EPerm()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 64), bbuf = Heap(b, 64);
        int g = Direct(a, b.Endpoint, abuf, 16, Grant.ReadWrite);
        var before = Denials(sys);
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} 17"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} 1 {bbuf} 16"));
        Assert.Equal("r EPERM", b.Ask($"copyto {a.Endpoint} {g} 16 {bbuf} 1"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} 17 {bbuf} 0"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} -1 {bbuf} 2"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} -1"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} {long.MaxValue} {bbuf} 2"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} 8 {bbuf} {long.MaxValue}"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} {long.MinValue} {bbuf} {long.MinValue}"));
        AssertDenials(sys, before, (Denial.GrantRegionExceeds, 9));
        // The whole grant is still fine.
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} 16"));
    }

    [Fact]
    public void LocalBuffer_OutsideCallersArena_EFault()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 64);
        int g = Direct(a, b.Endpoint, abuf, 64, Grant.ReadWrite);
        var before = Denials(sys);
        Assert.Equal("r EFAULT", b.Ask($"copyfrom {a.Endpoint} {g} 0 -1 4"));
        Assert.Equal("r EFAULT", b.Ask($"copyto {a.Endpoint} {g} 0 {long.MaxValue - 2} 4"));
        Assert.Equal("r EFAULT", b.Ask($"copyfrom {a.Endpoint} {g} 0 {1L << 40} 4"));
        AssertDenials(sys, before, (Denial.MemoryOutsideArena, 3));
    }

    [Fact]
    public void Grantee_OnlyTheNamedProcessOrAnyone()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        var c = Start(sys, "c");
        long abuf = Heap(a, 32), cbuf = Heap(c, 32);
        a.Ask($"poke {abuf} {Pattern(32, 9)}");
        int toB = Direct(a, b.Endpoint, abuf, 32, Grant.ReadWrite);
        var before = Denials(sys);
        Assert.Equal("r EPERM", c.Ask($"copyfrom {a.Endpoint} {toB} 0 {cbuf} 4"));
        Assert.Equal("r EPERM", c.Ask($"copyto {a.Endpoint} {toB} 0 {cbuf} 4"));
        AssertDenials(sys, before, (Denial.GrantInvalidGrantor, 2));
        int toAny = Direct(a, Endpoint.Any, abuf, 32, Grant.Read);
        Assert.Equal("r OK", c.Ask($"copyfrom {a.Endpoint} {toAny} 0 {cbuf} 32"));
        Assert.Equal(Pattern(32, 9), Peek(c, cbuf, 32));
    }

    [Fact]
    public void Granter_InvalidEndpointOrNegativeId_EInval()
    {
        using var sys = new TestSystem(slots: 64);
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 32), bbuf = Heap(b, 32);
        int g = Direct(a, b.Endpoint, abuf, 32, Grant.ReadWrite);
        var before = Denials(sys);
        foreach (var bad in new[] { "ANY", "NONE", "SELF", "SYSTEM", "CLOCK", "KERNEL", "63000", "-900", "200" })
            Assert.Equal("r EINVAL", b.Ask($"copyfrom {bad} {g} 0 {bbuf} 4"));
        Assert.Equal("r EINVAL", b.Ask($"copyfrom {a.Endpoint} -1 0 {bbuf} 4"));
        Assert.Equal("r EINVAL", b.Ask($"copyto {a.Endpoint} {int.MinValue} 0 {bbuf} 4"));
        // A well-formed endpoint of a process that does not exist (next generation of a's slot).
        Assert.Equal("r EDEADSRCDST", b.Ask($"copyfrom {a.Endpoint + Endpoint.GenerationSize} {g} 0 {bbuf} 4"));
        AssertDenials(sys, before, (Denial.GrantInvalidGrantor, 12));
    }

    [Fact]
    public void Table_MissingOrIdOutOfRange_EPerm()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        var none = Start(sys, "none");
        long bbuf = Heap(b, 32);
        var t = a.Ask("gtable");
        Assert.Equal($"r OK", t[..4]);
        int capacity = (int)Puppet.LongField(t, 3);
        Assert.Equal(GrantTable.DefaultCapacity, capacity);
        var before = Denials(sys);
        Assert.Equal("r EPERM", b.Ask($"copyfrom {none.Endpoint} 0 0 {bbuf} 4"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {capacity} 0 {bbuf} 4"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {Grant.MaxEntries - 1} 0 {bbuf} 4"));
        AssertDenials(sys, before, (Denial.GrantIdOutOfRange, 3));
        // An unused slot, and a used slot named with the wrong sequence number.
        long abuf = Heap(a, 32);
        int g = Direct(a, b.Endpoint, abuf, 32, Grant.ReadWrite);
        before = Denials(sys);
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {Grant.Index(g) + 1} 0 {bbuf} 4"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {Grant.MakeId(Grant.Seq(g) + 1, Grant.Index(g))} 0 {bbuf} 4"));
        AssertDenials(sys, before, (Denial.GrantUnusedOrInvalid, 2));
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} 4"));
    }

    [Fact]
    public void SetGrant_ChecksItsArgumentsAndCanUnregister()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 64), bbuf = Heap(b, 16);
        int g = Direct(a, b.Endpoint, abuf, 64, Grant.Read);
        long table = Puppet.LongField(a.Ask("gtable"), 2);
        var before = Denials(sys);
        Assert.Equal("r EINVAL", a.Ask($"setgrant {table} -1"));
        Assert.Equal("r EINVAL", a.Ask($"setgrant {table} {Grant.MaxEntries + 1}"));
        Assert.Equal("r EFAULT", a.Ask($"setgrant -32 4"));
        Assert.Equal("r EFAULT", a.Ask($"setgrant {long.MaxValue - 10} 4"));
        Assert.Equal("r EFAULT", a.Ask($"setgrant 0 {Grant.MaxEntries}"));
        AssertDenials(sys, before, (Denial.MemoryOutsideArena, 3));
        // The failed calls left the registration alone.
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} 16"));
        // Count 0 unregisters: the grant is gone with its table.
        Assert.Equal("r OK", a.Ask("setgrant 0 0"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} 16"));
        // A smaller table hides the entries beyond it.
        Assert.Equal("r OK", a.Ask($"setgrant {table} {Grant.Index(g)}"));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} 16"));
        Assert.Equal("r OK", a.Ask($"setgrant {table} {GrantTable.DefaultCapacity}"));
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} 16"));
    }

    [Fact]
    public void HostileEntries_RejectedByTheKernel()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 64), bbuf = Heap(b, 64);
        a.Ask("gtable");
        const int uv = Grant.Used | Grant.Valid;
        int ep = b.Endpoint;
        long arena = 1L << 30; // beyond any test arena
        var cases = new (string Entry, Denial Why)[]
        {
            ($"{Grant.Used | Grant.Direct | Grant.ReadWrite} 0 {ep} {abuf} 64", Denial.GrantUnusedOrInvalid),   // not VALID
            ($"{Grant.Valid | Grant.Direct | Grant.ReadWrite} 0 {ep} {abuf} 64", Denial.GrantUnusedOrInvalid),  // not USED
            ($"{uv | Grant.ReadWrite} 0 {ep} {abuf} 64", Denial.GrantUnusedOrInvalid),                          // no type
            ($"{uv | Grant.Magic | Grant.ReadWrite} 0 {ep} {abuf} 64", Denial.GrantUnusedOrInvalid),            // MAGIC
            ($"{uv | Grant.Direct | Grant.Indirect | Grant.ReadWrite} 0 {ep} {abuf} 64", Denial.GrantUnusedOrInvalid),
            ($"{uv | Grant.Direct | Grant.ReadWrite} 0 {ep} -8 64", Denial.GrantUnusedOrInvalid),               // negative start
            ($"{uv | Grant.Direct | Grant.ReadWrite} 0 {ep} {abuf} -1", Denial.GrantUnusedOrInvalid),           // negative length
            ($"{uv | Grant.Direct | Grant.ReadWrite} 0 {ep} {long.MaxValue - 4} 64", Denial.GrantUnusedOrInvalid), // wraps
            ($"{uv | Grant.Direct | Grant.ReadWrite} 0 {ep} {abuf} {arena}", Denial.GrantUnusedOrInvalid),      // beyond the arena
            ($"{uv | Grant.Direct | Grant.ReadWrite} 0 {ep} {arena} 64", Denial.GrantUnusedOrInvalid),
            ($"{uv | Grant.Direct | Grant.ReadWrite} 5 {ep} {abuf} 64", Denial.GrantUnusedOrInvalid),           // other sequence
            ($"{uv | Grant.Direct | Grant.ReadWrite} 0 {a.Endpoint} {abuf} 64", Denial.GrantInvalidGrantor),    // other grantee
            ($"{uv | Grant.Direct} 0 {ep} {abuf} 64", Denial.GrantAccessViolation),                            // no rights
        };
        foreach (var (entry, why) in cases)
        {
            Assert.Equal("r OK", a.Ask($"gentry 7 {entry}"));
            var before = Denials(sys);
            Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} 7 0 {bbuf} 8"));
            AssertDenials(sys, before, (why, 1));
        }
        // And the well-formed entry works, immediately, as written.
        a.Ask($"poke {abuf} {Pattern(64, 5)}");
        Assert.Equal("r OK", a.Ask($"gentry 7 {uv | Grant.Direct | Grant.Read} 0 {ep} {abuf} 64"));
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} 7 0 {bbuf} 64"));
        Assert.Equal(Pattern(64, 5), Peek(b, bbuf, 64));
    }

    [Fact]
    public void Revoke_IsImmediateAndTheStaleIdStaysDead()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 32), bbuf = Heap(b, 32);
        a.Ask($"poke {abuf} {Pattern(32, 2)}");
        int g1 = Direct(a, b.Endpoint, abuf, 32, Grant.ReadWrite);
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g1} 0 {bbuf} 32"));
        Assert.Equal("r OK", a.Ask($"revoke {g1}"));
        var before = Denials(sys);
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g1} 0 {bbuf} 32"));
        Assert.Equal("r EPERM", b.Ask($"copyto {a.Endpoint} {g1} 0 {bbuf} 32"));
        AssertDenials(sys, before, (Denial.GrantUnusedOrInvalid, 2));
        Assert.Equal("r EINVAL", a.Ask($"revoke {g1}"));
        // The slot is reused with a new sequence number: a new id; the old one stays dead.
        int g2 = Direct(a, b.Endpoint, abuf + 8, 8, Grant.ReadWrite);
        Assert.Equal(Grant.Index(g1), Grant.Index(g2));
        Assert.NotEqual(g1, g2);
        Assert.Equal(Grant.NextSeq(Grant.Seq(g1)), Grant.Seq(g2));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g1} 0 {bbuf} 8"));
        Assert.Equal("r OK", b.Ask($"copyfrom {a.Endpoint} {g2} 0 {bbuf} 8"));
        Assert.Equal(Pattern(32, 2).Substring(16, 16), Peek(b, bbuf, 8));
        // Many reuses later the first id is still dead; ids are never negative.
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal("r OK", a.Ask($"revoke {g2}"));
            g2 = Direct(a, b.Endpoint, abuf, 32, Grant.ReadWrite);
            Assert.True(g2 >= 0);
            Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g1} 0 {bbuf} 8"));
        }
    }

    [Fact]
    public void Revoke_WhileTheGranteeIsCopying_LaterCopiesFail()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 4096), bbuf = Heap(b, 4096);
        int g = Direct(a, b.Endpoint, abuf, 4096, Grant.ReadWrite);
        // b keeps copying in a tight loop (vcopy of 64 elements per call) while a revokes.
        var elems = string.Join(' ', Enumerable.Range(0, 64).Select(i => $"{a.Endpoint}:SELF:{g}:{i * 64}:{bbuf + i * 64}:64"));
        Assert.Equal("r OK", b.Ask("vcopy " + elems));
        Assert.Equal("r OK", a.Ask($"revoke {g}"));
        Assert.Equal("r EPERM", b.Ask("vcopy " + elems));
        Assert.Equal("r EPERM", b.Ask($"copyfrom {a.Endpoint} {g} 0 {bbuf} 1"));
    }

    [Fact]
    public void Revoke_DuringAConcurrentCopyLoop_NoCopySucceedsAfterwards()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 1024), bbuf = Heap(b, 1024);
        int g = Direct(a, b.Endpoint, abuf, 1024, Grant.Read);
        var loop = b.AskAsync($"copyuntil {a.Endpoint} {g} 0 {bbuf} 1024 1000");
        // Let the loop run, then revoke under its feet.
        TestSystem.WaitUntil(() => sys.Find(b.Endpoint)!.Value.Traps > 200, "b copying");
        Assert.Equal("r OK", a.Ask($"revoke {g}"));
        var answer = Puppet.Await(loop, 60_000).Split(' ');
        Assert.Equal("EPERM", answer[1]);
        Assert.True(long.Parse(answer[2]) > 0);
        Assert.Equal("0", answer[3]);
    }

    [Fact]
    public void Library_ChecksArgumentsAndCapacity()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 64);
        Assert.Equal("r EINVAL", a.Ask($"grant {b.Endpoint} {abuf} 8 0"));
        Assert.Equal("r EINVAL", a.Ask($"grant {b.Endpoint} {abuf} 8 4"));
        Assert.Equal("r EINVAL", a.Ask($"grant {b.Endpoint} {abuf} 8 {Grant.Read | Grant.Used}"));
        Assert.Equal("r EINVAL", a.Ask($"grant {b.Endpoint} -1 8 1"));
        Assert.Equal("r EINVAL", a.Ask($"grant {b.Endpoint} {abuf} -8 1"));
        Assert.Equal("r EINVAL", a.Ask($"grant {b.Endpoint} {long.MaxValue} 8 1"));
        Assert.Equal("r EINVAL", a.Ask($"grant NONE {abuf} 8 1"));
        Assert.Equal("r EINVAL", a.Ask($"igrant {b.Endpoint} ANY 0 1"));
        Assert.Equal("r EINVAL", a.Ask($"igrant {b.Endpoint} {b.Endpoint} -1 1"));
        Assert.Equal("r EINVAL", a.Ask("revoke -1"));
        Assert.Equal("r EINVAL", a.Ask("revoke 3"));
        var ids = new HashSet<int>();
        for (int i = 0; i < GrantTable.DefaultCapacity; i++) ids.Add(Direct(a, b.Endpoint, abuf, 64, Grant.Read));
        Assert.Equal(GrantTable.DefaultCapacity, ids.Count);
        Assert.Equal("r ENOSPC", a.Ask($"grant {b.Endpoint} {abuf} 8 1"));
        Assert.Equal("r OK", a.Ask($"revoke {ids.First()}"));
        Direct(a, b.Endpoint, abuf, 8, Grant.Read);
    }

    [Fact]
    public void Privileges_SafeCopyAndSetGrantNeedTheirKernelCalls()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var plain = sys.StartPuppet("plain");
        long abuf = Heap(a, 64);
        int g = Direct(a, plain.Endpoint, abuf, 64, Grant.ReadWrite);
        long pbuf = Heap(plain, 64);
        Assert.Equal("r ECALLDENIED", plain.Ask($"copyfrom {a.Endpoint} {g} 0 {pbuf} 4"));
        Assert.Equal("r ECALLDENIED", plain.Ask($"copyto {a.Endpoint} {g} 0 {pbuf} 4"));
        Assert.Equal("r ECALLDENIED", plain.Ask($"vcopy {a.Endpoint}:SELF:{g}:0:{pbuf}:4"));
        Assert.Equal("r ECALLDENIED", plain.Ask($"grant {a.Endpoint} {pbuf} 8 1"));
        Assert.Equal(4, sys.Kernel.Denials()[(int)Denial.KernelCallNotAllowed]);
    }

    [Fact]
    public void Indirect_TwoAndThreeLevels_FollowToTheRootWithNarrowedRights()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        var c = Start(sys, "c");
        var d = Start(sys, "d");
        long abuf = Heap(a, 256), cbuf = Heap(c, 256), dbuf = Heap(d, 256);
        string data = Pattern(256, 11);
        a.Ask($"poke {abuf} {data}");
        int ga = Direct(a, b.Endpoint, abuf + 16, 128, Grant.ReadWrite);
        int gb = Indirect(b, c.Endpoint, a.Endpoint, ga, Grant.Read);                    // b → c, read only
        int gbw = Indirect(b, c.Endpoint, a.Endpoint, ga, Grant.ReadWrite);              // b → c, read-write
        int gc = Indirect(c, d.Endpoint, b.Endpoint, gb, Grant.ReadWrite);               // c → d, asks for more than it has
        int gcw = Indirect(c, d.Endpoint, b.Endpoint, gbw, Grant.Write);                 // c → d, write only

        // Two levels: c reads a's memory through b's grant, offsets relative to a's grant.
        Assert.Equal("r OK", c.Ask($"copyfrom {b.Endpoint} {gb} 10 {cbuf} 20"));
        Assert.Equal(data.Substring((16 + 10) * 2, 40), Peek(c, cbuf, 20));
        var before = Denials(sys);
        Assert.Equal("r EPERM", c.Ask($"copyto {b.Endpoint} {gb} 0 {cbuf} 4"));          // narrowed to READ
        Assert.Equal("r EPERM", c.Ask($"copyfrom {b.Endpoint} {gb} 120 {cbuf} 9"));      // beyond the root grant
        Assert.Equal("r EPERM", c.Ask($"copyfrom {a.Endpoint} {ga} 0 {cbuf} 4"));        // a's grant is b's, not c's
        AssertDenials(sys, before, (Denial.GrantAccessViolation, 1), (Denial.GrantRegionExceeds, 1), (Denial.GrantInvalidGrantor, 1));

        // Three levels: the minimum of RW (a), R (b), RW (c) is R.
        Assert.Equal("r OK", d.Ask($"copyfrom {c.Endpoint} {gc} 0 {dbuf} 128"));
        Assert.Equal(data.Substring(16 * 2, 256), Peek(d, dbuf, 128));
        Assert.Equal("r EPERM", d.Ask($"copyto {c.Endpoint} {gc} 0 {dbuf} 1"));
        // RW (a), RW (b), W (c): d may write but not read.
        Assert.Equal("r EPERM", d.Ask($"copyfrom {c.Endpoint} {gcw} 0 {dbuf} 1"));
        d.Ask($"poke {dbuf} CAFEF00D");
        Assert.Equal("r OK", d.Ask($"copyto {c.Endpoint} {gcw} 127 {dbuf} 1"));
        Assert.Equal("r OK", d.Ask($"copyto {c.Endpoint} {gcw} 0 {dbuf} 4"));
        string now = data[..(16 * 2)] + "CAFEF00D" + data[(20 * 2)..((16 + 127) * 2)] + "CA" + data[((16 + 128) * 2)..];
        Assert.Equal(now, Peek(a, abuf, 256));
        // Only d may use c's grants; b cannot use a grant made for d.
        long bbuf = Heap(b, 16);
        Assert.Equal("r EPERM", b.Ask($"copyfrom {c.Endpoint} {gc} 0 {bbuf} 1"));

        // Revocation anywhere on the path cuts the chain at once.
        Assert.Equal("r OK", b.Ask($"revoke {gb}"));
        Assert.Equal("r EPERM", d.Ask($"copyfrom {c.Endpoint} {gc} 0 {dbuf} 1"));
        Assert.Equal("r EPERM", c.Ask($"copyfrom {b.Endpoint} {gb} 0 {cbuf} 1"));
        Assert.Equal("r OK", d.Ask($"copyto {c.Endpoint} {gcw} 0 {dbuf} 1"));
        Assert.Equal("r OK", a.Ask($"revoke {ga}"));
        Assert.Equal("r EPERM", d.Ask($"copyto {c.Endpoint} {gcw} 0 {dbuf} 1"));
        Assert.Equal("r EPERM", c.Ask($"copyto {b.Endpoint} {gbw} 0 {cbuf} 1"));
    }

    [Fact]
    public void Indirect_ChainOfFiveLinksWorks_SixIsELoop()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        long abuf = Heap(a, 32), local = Heap(a, 32);
        a.Ask($"poke {abuf} {Pattern(32, 4)}");
        a.Ask("gtable");
        const int uv = Grant.Used | Grant.Valid;
        // One process can chain its own entries: i → i+1 → … → the direct grant at 20.
        Assert.Equal("r OK", a.Ask($"gentry 20 {uv | Grant.Direct | Grant.Read} 0 {a.Endpoint} {abuf} 32"));
        for (int i = 10; i < 20; i++)
            Assert.Equal("r OK", a.Ask($"gentry {i} {uv | Grant.Indirect | Grant.ReadWrite} 0 {a.Endpoint} {a.Endpoint} {i + 1}"));
        // Entry 15 starts a chain of 5 indirect links before the direct grant: allowed.
        Assert.Equal("r OK", a.Ask($"copyfrom {a.Endpoint} 15 0 {local} 32"));
        Assert.Equal(Pattern(32, 4), Peek(a, local, 32));
        var before = Denials(sys);
        Assert.Equal("r ELOOP", a.Ask($"copyfrom {a.Endpoint} 14 0 {local} 32"));
        Assert.Equal("r ELOOP", a.Ask($"copyfrom {a.Endpoint} 10 0 {local} 32"));
        // A grant that names itself loops forever without the limit.
        Assert.Equal("r OK", a.Ask($"gentry 30 {uv | Grant.Indirect | Grant.Read} 0 {a.Endpoint} {a.Endpoint} 30"));
        Assert.Equal("r ELOOP", a.Ask($"copyfrom {a.Endpoint} 30 0 {local} 1"));
        AssertDenials(sys, before, (Denial.GrantUnusedOrInvalid, 3));
        // Rights are the minimum along the chain: the direct grant is read-only.
        Assert.Equal("r EPERM", a.Ask($"copyto {a.Endpoint} 15 0 {local} 1"));
    }

    [Fact]
    public void Indirect_ChainAcrossSixProcesses()
    {
        using var sys = new TestSystem();
        var p = Enumerable.Range(0, 7).Select(i => Start(sys, "p" + i)).ToArray();
        long root = Heap(p[0], 16);
        p[0].Ask($"poke {root} {Pattern(16, 8)}");
        int id = Direct(p[0], p[1].Endpoint, root, 16, Grant.Read);
        for (int i = 1; i < 6; i++) id = Indirect(p[i], p[i + 1].Endpoint, p[i - 1].Endpoint, id, Grant.Read);
        // p6 uses p5's grant: five indirect links (p5 … p1) and the direct grant of p0.
        long buf = Heap(p[6], 16);
        Assert.Equal("r OK", p[6].Ask($"copyfrom {p[5].Endpoint} {id} 0 {buf} 16"));
        Assert.Equal(Pattern(16, 8), Peek(p[6], buf, 16));
        // One more link is one too many.
        int id6 = Indirect(p[6], p[0].Endpoint, p[5].Endpoint, id, Grant.Read);
        long buf0 = Heap(p[0], 16);
        Assert.Equal("r ELOOP", p[0].Ask($"copyfrom {p[6].Endpoint} {id6} 0 {buf0} 16"));
    }

    [Fact]
    public void GrantorDeath_CopiesFailWithEDeadSrcDst_AndTheTableIsForgotten()
    {
        using var sys = new TestSystem(slots: 20);
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        var c = Start(sys, "c");
        long abuf = Heap(a, 32), bbuf = Heap(b, 32), cbuf = Heap(c, 32);
        int ga = Direct(a, b.Endpoint, abuf, 32, Grant.ReadWrite);
        int gb = Indirect(b, c.Endpoint, a.Endpoint, ga, Grant.Read);
        Assert.Equal("r OK", c.Ask($"copyfrom {b.Endpoint} {gb} 0 {cbuf} 32"));
        int aSlot = Endpoint.Slot(a.Endpoint);
        Assert.Equal(Err.Ok, sys.Kernel.Kill(a.Endpoint, 9));
        TestSystem.WaitUntil(() => sys.Find(a.Endpoint) is not { } i || i.State == ProcState.Zombie, "a to die");
        var before = Denials(sys);
        Assert.Equal("r EDEADSRCDST", b.Ask($"copyfrom {a.Endpoint} {ga} 0 {bbuf} 32"));
        Assert.Equal("r EDEADSRCDST", b.Ask($"copyto {a.Endpoint} {ga} 0 {bbuf} 32"));
        Assert.Equal("r EDEADSRCDST", c.Ask($"copyfrom {b.Endpoint} {gb} 0 {cbuf} 32"));
        AssertDenials(sys, before, (Denial.GrantInvalidGrantor, 3));
        // Fill the table until a's slot is reused: its new process has no grant table, and the
        // old endpoint stays dead.
        var others = new List<Puppet>();
        Puppet? heir = null;
        for (int i = 0; i < 16 && heir is null; i++)
        {
            var x = Start(sys, "x" + i);
            if (Endpoint.Slot(x.Endpoint) == aSlot) heir = x;
            else others.Add(x);
        }
        Assert.NotNull(heir);
        Assert.NotEqual(a.Endpoint, heir!.Endpoint);
        Assert.Equal("r EDEADSRCDST", b.Ask($"copyfrom {a.Endpoint} {ga} 0 {bbuf} 32"));
        before = Denials(sys);
        Assert.Equal("r EPERM", b.Ask($"copyfrom {heir.Endpoint} {ga} 0 {bbuf} 32"));
        AssertDenials(sys, before, (Denial.GrantIdOutOfRange, 1));
    }

    [Fact]
    public void VSafeCopy_ManyCopiesInOneCall_StopsAtTheFirstFailure()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        long abuf = Heap(a, 64), bbuf = Heap(b, 64);
        string data = Pattern(32, 6);
        a.Ask($"poke {abuf} {data}{new string('0', 64)}");
        b.Ask($"poke {bbuf} {new string('0', 64)}{Pattern(32, 99)}");
        int ro = Direct(a, b.Endpoint, abuf, 32, Grant.Read);
        int wo = Direct(a, b.Endpoint, abuf + 32, 32, Grant.Write);
        // Two reads and a write in one call.
        Assert.Equal("r OK", b.Ask($"vcopy {a.Endpoint}:SELF:{ro}:0:{bbuf}:8 {a.Endpoint}:SELF:{ro}:24:{bbuf + 8}:8 SELF:{a.Endpoint}:{wo}:4:{bbuf + 32}:16"));
        Assert.Equal(data[..16] + data[48..64] + new string('0', 32), Peek(b, bbuf, 32));
        Assert.Equal(new string('0', 8) + Pattern(32, 99)[..32] + new string('0', 24), Peek(a, abuf + 32, 32));
        // The second element fails: the first was done, the third was not.
        b.Ask($"poke {bbuf} {new string('0', 64)}");
        var before = Denials(sys);
        Assert.Equal("r EPERM", b.Ask($"vcopy {a.Endpoint}:SELF:{ro}:0:{bbuf}:4 SELF:{a.Endpoint}:{ro}:0:{bbuf}:4 {a.Endpoint}:SELF:{ro}:0:{bbuf + 16}:4"));
        AssertDenials(sys, before, (Denial.GrantAccessViolation, 1));
        Assert.Equal(data[..8] + new string('0', 56), Peek(b, bbuf, 32));
        // Malformed vectors.
        Assert.Equal("r EINVAL", b.Ask($"vcopy SELF:SELF:{ro}:0:{bbuf}:4"));
        Assert.Equal("r EINVAL", b.Ask($"vcopy {a.Endpoint}:{a.Endpoint}:{ro}:0:{bbuf}:4"));
        Assert.Equal("r EINVAL", b.Ask($"vcopy-raw {bbuf} {VSafeCopyRequest.MaxCount + 1}"));
        Assert.Equal("r EINVAL", b.Ask($"vcopy-raw {bbuf} -1"));
        Assert.Equal("r OK", b.Ask($"vcopy-raw {bbuf} 0"));
        before = Denials(sys);
        Assert.Equal("r EFAULT", b.Ask($"vcopy-raw -40 1"));
        Assert.Equal("r EFAULT", b.Ask($"vcopy-raw {long.MaxValue - 8} 2"));
        AssertDenials(sys, before, (Denial.MemoryOutsideArena, 2));
        var many = string.Join(' ', Enumerable.Range(0, VSafeCopyRequest.MaxCount + 1).Select(_ => $"{a.Endpoint}:SELF:{ro}:0:{bbuf}:1"));
        Assert.Equal("r EINVAL", b.Ask("vcopy " + many));
    }

    [Fact]
    public void Denials_EveryCategoryCountedPerProcessAndVisibleThroughGetInfo()
    {
        using var sys = new TestSystem();
        var a = Start(sys, "a");
        var b = Start(sys, "b");
        var none = Start(sys, "none");
        long abuf = Heap(a, 32), bbuf = Heap(b, 32);
        int g = Direct(a, b.Endpoint, abuf, 32, Grant.Read);
        b.Ask($"copyfrom {none.Endpoint} 0 0 {bbuf} 1");          // id out of range (no table)
        b.Ask($"copyfrom NONE {g} 0 {bbuf} 1");                    // invalid grantor
        b.Ask($"copyfrom {a.Endpoint} {g} 30 {bbuf} 3");           // region exceeds
        b.Ask($"copyto {a.Endpoint} {g} 0 {bbuf} 1");              // access violation
        b.Ask($"copyfrom {a.Endpoint} {g + 1} 0 {bbuf} 1");        // unused
        var counts = b.Ask("denials").Split(' ')[2..].Select(long.Parse).ToArray();
        foreach (var d in new[] { Denial.GrantIdOutOfRange, Denial.GrantInvalidGrantor, Denial.GrantRegionExceeds, Denial.GrantAccessViolation, Denial.GrantUnusedOrInvalid })
        {
            Assert.Equal(1, counts[(int)d]);
            Assert.Equal("memory", DenialText.Group(d));
        }
        Assert.Equal(5, sys.Find(b.Endpoint)!.Value.Denials);
        Assert.Equal(0, sys.Find(a.Endpoint)!.Value.Denials);
        Assert.True(sys.Console.Has("denied b"), "denials are logged");
    }
}
