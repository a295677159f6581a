// One memory grant (thesis §3.3.2, Fig. 3.4; MINIX cp_grant_t): an entry of a grant table in
// the grantor's arena, registered with SETGRANT. The layout is a wire format between the
// grantor and the kernel (32 bytes, tested):
//   0 Flags   READ/WRITE access, USED, VALID and the type (DIRECT, INDIRECT, MAGIC)
//   4 Seq     sequence number of the slot: the grant id is (Seq << 20) | index
//   8 Grantee endpoint allowed to use the grant (ANY: anyone)
//  16 union   direct:   Start (arena offset, long), Length (long, at 24)
//             indirect: Granter (previous grantor, int at 16), GrantId (its grant id, int at 20)
// Indirect grants carry no region of their own (as in MINIX): the copy's offset applies to
// the root direct grant, and the rights are the minimum along the chain. The kernel copies
// an entry out of the arena once and then validates the copy: the grantor may rewrite the
// table at any time, so nothing here is trusted by the kernel.
using System.Runtime.InteropServices;

namespace Bulkhead.Lib.Grants;

[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct GrantEntry
{
    public const int Size = 32;

    [FieldOffset(0)] public int Flags;
    [FieldOffset(4)] public int Seq;
    [FieldOffset(8)] public int Grantee;
    [FieldOffset(12)] public int Reserved;
    // Direct.
    [FieldOffset(16)] public long Start;
    [FieldOffset(24)] public long Length;
    // Indirect (overlays Start).
    [FieldOffset(16)] public int Granter;
    [FieldOffset(20)] public int GrantId;

    public readonly bool InUse => (Flags & (Grant.Used | Grant.Valid)) == (Grant.Used | Grant.Valid);
}

/// <summary>Grant flags, grant-id arithmetic and limits (MINIX CPF_*, GRANT_*).</summary>
public static class Grant
{
    public const int Read = 0x1;
    public const int Write = 0x2;
    public const int ReadWrite = Read | Write;
    public const int Used = 0x100;
    public const int Direct = 0x200;
    public const int Indirect = 0x400;
    public const int Magic = 0x800;
    public const int Valid = 0x1000;
    public const int TypeMask = Direct | Indirect | Magic;

    /// <summary>No grant (MINIX GRANT_INVALID).</summary>
    public const int Invalid = -1;
    public const int IdShift = 20;
    /// <summary>Largest number of entries a table can have: the index is 20 bits.</summary>
    public const int MaxEntries = 1 << IdShift;
    /// <summary>Sequence numbers run 0..MaxSeq-1 and wrap, so a grant id is never negative.</summary>
    public const int MaxSeq = 1 << (31 - IdShift);
    /// <summary>Indirect links the kernel follows before it answers ELOOP (MINIX MAX_INDIRECT_DEPTH).</summary>
    public const int MaxIndirectDepth = 5;

    public static int MakeId(int seq, int index) => (seq << IdShift) | index;
    public static int Index(int id) => id & (MaxEntries - 1);
    public static int Seq(int id) => (int)((uint)id >> IdShift);
    public static int NextSeq(int seq) => seq + 1 >= MaxSeq || seq < 0 ? 0 : seq + 1;
}
