// The code mutations of thesis Fig. 5.1 on x86-64 (docs/swifi.md, "Fault types"). Given the
// current bytes of one function of the target, its address, and an offset into it, TryMutate
// decodes the function from its first byte (Iced), takes the instruction that holds the offset
// or, if it does not suit the fault type, the next one that does ("the closest suitable
// address", §5.1.1), and returns
// the bytes to write over it. Every replacement has at most the original's length (shorter
// encodings are padded with NOPs), so the instructions after it still decode as before —
// except for binary faults, which flip any bit and may change the length, as a hardware fault
// would.
// Rules: pure (no I/O); every random choice comes from the caller's Random, so a campaign's
// seed reproduces its mutations; null when the function has no suitable instruction after the
// offset (the caller moves on to the next function).
using Iced.Intel;

namespace Bulkhead.Swifi;

/// <summary>One injected fault: its type, the address of the instruction it changed, the bytes
/// there before and after, and both disassembled.</summary>
public sealed record Mutation(FaultType Type, ulong Address, byte[] Old, byte[] New, string Before, string After);

public static class Mutator
{
    private const byte Nop = 0x90;

    private static readonly Register[] Gpr64 =
    [
        Register.RAX, Register.RCX, Register.RDX, Register.RBX, Register.RSP, Register.RBP, Register.RSI, Register.RDI,
        Register.R8, Register.R9, Register.R10, Register.R11, Register.R12, Register.R13, Register.R14, Register.R15,
    ];

    private static readonly Register[] Gpr32 =
    [
        Register.EAX, Register.ECX, Register.EDX, Register.EBX, Register.ESP, Register.EBP, Register.ESI, Register.EDI,
        Register.R8D, Register.R9D, Register.R10D, Register.R11D, Register.R12D, Register.R13D, Register.R14D, Register.R15D,
    ];

    /// <summary>The System V argument registers (the managed calling convention on Linux x64).</summary>
    private static readonly HashSet<Register> ArgumentRegisters =
    [
        Register.RDI, Register.RSI, Register.RDX, Register.RCX, Register.R8, Register.R9,
        Register.XMM0, Register.XMM1, Register.XMM2, Register.XMM3, Register.XMM4, Register.XMM5, Register.XMM6, Register.XMM7,
    ];

    /// <summary>Assignments: instructions that copy their right-hand operand to their left-hand one.</summary>
    private static readonly HashSet<Mnemonic> Moves =
    [
        Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd, Mnemonic.Movbe,
        Mnemonic.Movd, Mnemonic.Movq, Mnemonic.Movss, Mnemonic.Movsd, Mnemonic.Movups, Mnemonic.Movaps,
        Mnemonic.Movdqu, Mnemonic.Movdqa, Mnemonic.Movupd, Mnemonic.Movapd,
        Mnemonic.Vmovd, Mnemonic.Vmovq, Mnemonic.Vmovss, Mnemonic.Vmovsd, Mnemonic.Vmovups, Mnemonic.Vmovaps,
        Mnemonic.Vmovdqu, Mnemonic.Vmovdqa, Mnemonic.Vmovupd, Mnemonic.Vmovapd,
    ];

    /// <summary>Instructions that load an argument register before a call (xor only as r,r).</summary>
    private static readonly HashSet<Mnemonic> ArgumentLoads =
    [
        Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd, Mnemonic.Lea, Mnemonic.Xor,
        Mnemonic.Movd, Mnemonic.Movq, Mnemonic.Movss, Mnemonic.Movsd, Mnemonic.Movaps, Mnemonic.Movups,
        Mnemonic.Vmovd, Mnemonic.Vmovq, Mnemonic.Vmovss, Mnemonic.Vmovsd, Mnemonic.Vmovaps, Mnemonic.Vmovups,
        Mnemonic.Xorps, Mnemonic.Vxorps,
    ];

    /// <summary>The function's instructions, decoded from its first byte at <paramref name="ip"/>.</summary>
    public static List<Instruction> Decode(byte[] code, ulong ip)
    {
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code), ip, DecoderOptions.None);
        var list = new List<Instruction>();
        ulong end = ip + (ulong)code.Length;
        while (decoder.IP < end)
        {
            decoder.Decode(out var ins);
            if (ins.NextIP > end) break;          // the last instruction runs past the function
            list.Add(ins);
        }
        return list;
    }

    /// <summary>Mutates the instruction that holds <paramref name="from"/>, or the first one after it, in
    /// <paramref name="code"/> (a function's bytes at <paramref name="ip"/>) that suits
    /// <paramref name="type"/> (not Random: the caller picks the concrete type); null if none does.</summary>
    public static Mutation? TryMutate(FaultType type, byte[] code, ulong ip, ulong from, Random rng)
    {
        if (type == FaultType.Random) throw new ArgumentException("pick a concrete fault type for Random", nameof(type));
        var instructions = Decode(code, ip);
        int first = instructions.FindLastIndex(i => i.IP <= from);   // the instruction that holds the offset
        if (first < 0) return null;
        for (int k = first; k < instructions.Count; k++)
        {
            var ins = instructions[k];
            if (ins.IsInvalid) continue;
            int at = (int)(ins.IP - ip);
            byte[] old = code.AsSpan(at, ins.Length).ToArray();
            int target = k;
            byte[]? patch = type switch
            {
                FaultType.Binary => FlipBit(old, rng),
                FaultType.Pointer => HasMemoryOperand(ins) ? CorruptAddress(ins, old, code, at, ip, rng) : null,
                FaultType.Source => Moves.Contains(ins.Mnemonic) && ins.OpCount == 2 && ins.Op1Kind == OpKind.Memory ? CorruptAddress(ins, old, code, at, ip, rng) : null,
                FaultType.Destination => Moves.Contains(ins.Mnemonic) && ins.OpCount >= 1 && ins.Op0Kind == OpKind.Memory ? CorruptAddress(ins, old, code, at, ip, rng) : null,
                FaultType.Control => InvertCondition(ins),
                FaultType.Parameter => IsCall(ins) && ArgumentLoadBefore(instructions, k, rng) is int load and >= 0 ? Nops(instructions[target = load].Length) : null,
                FaultType.Omission => Nops(ins.Length),
                _ => null,
            };
            if (patch is null) continue;
            var changed = instructions[target];
            int changedAt = (int)(changed.IP - ip);
            byte[] before = code.AsSpan(changedAt, changed.Length).ToArray();
            return new Mutation(type, changed.IP, before, patch, changed.ToString(), Disassemble(patch, changed.IP));
        }
        return null;
    }

    /// <summary>The instructions in <paramref name="bytes"/> at <paramref name="ip"/>, "; "-separated.</summary>
    public static string Disassemble(byte[] bytes, ulong ip) =>
        string.Join("; ", Decode(bytes, ip).Select(i => i.IsInvalid ? "(bad)" : i.ToString()));

    private static byte[] FlipBit(byte[] old, Random rng)
    {
        var patch = (byte[])old.Clone();
        patch[rng.Next(patch.Length)] ^= (byte)(1 << rng.Next(8));
        return patch;
    }

    private static byte[] Nops(int length) => Enumerable.Repeat(Nop, length).ToArray();

    private static bool HasMemoryOperand(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
            if (ins.GetOpKind(i) == OpKind.Memory) return true;
        return false;
    }

    private static bool IsCall(in Instruction ins) => ins.FlowControl is FlowControl.Call or FlowControl.IndirectCall;

    /// <summary>Corrupts the address calculation of the memory operand: another base or index
    /// register, another scale (the fields of ModR/M and SIB), or one flipped bit of the
    /// displacement — whichever of those the instruction has, tried in random order.</summary>
    private static byte[]? CorruptAddress(Instruction ins, byte[] old, byte[] code, int at, ulong ip, Random rng)
    {
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code, at, old.Length), ins.IP, DecoderOptions.None);
        decoder.Decode(out var again);
        var offsets = decoder.GetConstantOffsets(again);
        var ways = new List<int>();
        if (IsGpr(ins.MemoryBase)) ways.Add(0);
        if (IsGpr(ins.MemoryIndex)) { ways.Add(1); ways.Add(2); }
        if (offsets.HasDisplacement) ways.Add(3);
        Shuffle(ways, rng);
        foreach (int way in ways)
        {
            byte[]? patch = way switch
            {
                0 => Reencode(ins, old.Length, OtherRegisters(ins.MemoryBase, rng), (ref Instruction i, Register r) => i.MemoryBase = r),
                1 => Reencode(ins, old.Length, OtherRegisters(ins.MemoryIndex, rng).Where(r => r is not (Register.RSP or Register.ESP)),
                              (ref Instruction i, Register r) => i.MemoryIndex = r),
                2 => ReencodeScale(ins, old.Length, rng),
                _ => FlipDisplacement(old, offsets, rng),
            };
            if (patch is not null) return patch;
        }
        return null;
    }

    private delegate void Change(ref Instruction ins, Register r);

    private static byte[]? Reencode(Instruction ins, int length, IEnumerable<Register> candidates, Change change)
    {
        foreach (var r in candidates)
        {
            var copy = ins;
            change(ref copy, r);
            if (Encode(copy, length) is { } bytes) return bytes;
        }
        return null;
    }

    private static byte[]? ReencodeScale(Instruction ins, int length, Random rng)
    {
        var scales = new List<int> { 1, 2, 4, 8 };
        scales.Remove(ins.MemoryIndexScale);
        Shuffle(scales, rng);
        foreach (int s in scales)
        {
            var copy = ins;
            copy.MemoryIndexScale = s;
            if (Encode(copy, length) is { } bytes) return bytes;
        }
        return null;
    }

    private static byte[]? FlipDisplacement(byte[] old, ConstantOffsets offsets, Random rng)
    {
        var patch = (byte[])old.Clone();
        int bit = rng.Next(offsets.DisplacementSize * 8);
        patch[offsets.DisplacementOffset + bit / 8] ^= (byte)(1 << (bit % 8));
        return patch;
    }

    /// <summary>Jcc, CMOVcc and SETcc get the opposite condition; REPE and REPNE swap on CMPS and
    /// SCAS; REP MOVS and REP STOS lose their prefix (one element instead of RCX of them).</summary>
    private static byte[]? InvertCondition(Instruction ins)
    {
        if (ins.ConditionCode != ConditionCode.None)
        {
            var copy = ins;
            copy.NegateConditionCode();
            return Encode(copy, ins.Length, exact: true);
        }
        if (!ins.IsStringInstruction || !(ins.HasRepePrefix || ins.HasRepnePrefix)) return null;
        var swapped = ins;
        if (ins.Mnemonic is Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Cmpsq or
            Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq)
        {
            swapped.HasRepePrefix = ins.HasRepnePrefix;
            swapped.HasRepnePrefix = ins.HasRepePrefix;
        }
        else
        {
            swapped.HasRepePrefix = false;
            swapped.HasRepnePrefix = false;
        }
        return Encode(swapped, ins.Length);
    }

    /// <summary>A random one of the instructions in the basic block before the call at
    /// <paramref name="call"/> (at most 8 back) that load an argument register; -1 if none.</summary>
    private static int ArgumentLoadBefore(List<Instruction> instructions, int call, Random rng)
    {
        var loads = new List<int>();
        for (int k = call - 1; k >= 0 && k >= call - 8; k--)
        {
            var ins = instructions[k];
            if (ins.IsInvalid || ins.FlowControl != FlowControl.Next) break;
            if (ins.OpCount == 0 || ins.Op0Kind != OpKind.Register || !ArgumentLoads.Contains(ins.Mnemonic)) continue;
            if (!ArgumentRegisters.Contains(ins.Op0Register.GetFullRegister())) continue;
            if (ins.Mnemonic is Mnemonic.Xor or Mnemonic.Xorps or Mnemonic.Vxorps &&
                !(ins.Op1Kind == OpKind.Register && ins.Op1Register == ins.Op0Register)) continue;
            loads.Add(k);
        }
        return loads.Count == 0 ? -1 : loads[rng.Next(loads.Count)];
    }

    /// <summary>The encoding of <paramref name="ins"/> at its own address if it is no longer
    /// than <paramref name="length"/> (padded with NOPs), or exactly as long when <paramref name="exact"/>.</summary>
    private static byte[]? Encode(in Instruction ins, int length, bool exact = false)
    {
        var writer = new BytesWriter();
        var encoder = Iced.Intel.Encoder.Create(64, writer);
        if (!encoder.TryEncode(ins, ins.IP, out uint encoded, out _)) return null;
        if (encoded > length || (exact && encoded != length)) return null;
        while (writer.Bytes.Count < length) writer.Bytes.Add(Nop);
        return writer.Bytes.ToArray();
    }

    private static bool IsGpr(Register r) => r.IsGPR64() || r.IsGPR32();

    private static List<Register> OtherRegisters(Register r, Random rng)
    {
        var list = (r.IsGPR64() ? Gpr64 : Gpr32).Where(x => x != r).ToList();
        Shuffle(list, rng);
        return list;
    }

    private static void Shuffle<T>(List<T> list, Random rng)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    private sealed class BytesWriter : CodeWriter
    {
        public List<byte> Bytes { get; } = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
