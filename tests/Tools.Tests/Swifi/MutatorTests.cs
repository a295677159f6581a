// The mutations of thesis Fig. 5.1 on known x86-64 instruction sequences: decode → mutate →
// the expected bytes (or, where the mutation draws a register or a bit, the property every
// draw must have). Code sits at an arbitrary address so that branches re-encode in place.
using Bulkhead.Swifi;
using Iced.Intel;

namespace Bulkhead.Tools.Tests.Swifi;

public sealed class MutatorTests
{
    private const ulong Ip = 0x7f00_0000_1000;

    private static Mutation Mutate(FaultType type, byte[] code, int offset = 0, int seed = 1) =>
        Mutator.TryMutate(type, code, Ip, Ip + (ulong)offset, new Random(seed)) ?? throw new Xunit.Sdk.XunitException($"no {type} mutation");

    private static Instruction One(byte[] bytes)
    {
        var list = Mutator.Decode(bytes, Ip);
        return list[0];
    }

    [Fact]
    public void Binary_FlipsExactlyOneBitOfTheInstruction()
    {
        byte[] code = [0x48, 0x8B, 0x47, 0x08, 0xC3];                    // mov rax,[rdi+8]; ret
        for (int seed = 0; seed < 50; seed++)
        {
            var m = Mutate(FaultType.Binary, code, 2, seed);
            Assert.Equal(Ip, m.Address);
            Assert.Equal(code[..4], m.Old);
            int bits = m.Old.Zip(m.New, (a, b) => System.Numerics.BitOperations.PopCount((uint)(a ^ b))).Sum();
            Assert.Equal(1, bits);
        }
    }

    [Fact]
    public void Omission_ReplacesTheInstructionHoldingTheOffsetWithNops()
    {
        byte[] code = [0x48, 0x8B, 0x47, 0x08, 0x48, 0x01, 0xC8, 0xC3];   // mov rax,[rdi+8]; add rax,rcx; ret
        var m = Mutate(FaultType.Omission, code, 5);
        Assert.Equal(Ip + 4, m.Address);
        Assert.Equal(new byte[] { 0x48, 0x01, 0xC8 }, m.Old);
        Assert.Equal(new byte[] { 0x90, 0x90, 0x90 }, m.New);
    }

    [Fact]
    public void Pointer_ChangesOnlyTheAddressCalculation_KeepsTheLength()
    {
        byte[] code = [0x48, 0x8B, 0x44, 0x8F, 0x10];                    // mov rax,[rdi+rcx*4+10h]
        var before = One(code);
        var seen = new HashSet<string>();
        for (int seed = 0; seed < 60; seed++)
        {
            var m = Mutate(FaultType.Pointer, code, 0, seed);
            Assert.Equal(code.Length, m.New.Length);
            var after = One(m.New);
            Assert.Equal(before.Mnemonic, after.Mnemonic);
            Assert.Equal(Register.RAX, after.Op0Register);
            Assert.Equal(OpKind.Memory, after.Op1Kind);
            bool baseChanged = after.MemoryBase != before.MemoryBase, indexChanged = after.MemoryIndex != before.MemoryIndex;
            bool scaleChanged = after.MemoryIndexScale != before.MemoryIndexScale, displChanged = after.MemoryDisplacement64 != before.MemoryDisplacement64;
            Assert.Equal(1, new[] { baseChanged, indexChanged, scaleChanged, displChanged }.Count(c => c));
            seen.Add(baseChanged ? "base" : indexChanged ? "index" : scaleChanged ? "scale" : "displacement");
        }
        Assert.Equal(4, seen.Count);                                     // every way is drawn
    }

    [Fact]
    public void Pointer_RipRelative_FlipsADisplacementBit()
    {
        byte[] code = [0x48, 0x8B, 0x05, 0x10, 0x20, 0x00, 0x00];        // mov rax,[rip+2010h]
        var m = Mutate(FaultType.Pointer, code);
        Assert.Equal(code[..3], m.New[..3]);
        Assert.Equal(1, m.Old.Zip(m.New, (a, b) => System.Numerics.BitOperations.PopCount((uint)(a ^ b))).Sum());
    }

    [Fact]
    public void Source_TakesTheNextLoad_SkipsAStore()
    {
        byte[] code = [0x48, 0x89, 0x47, 0x08, 0x48, 0x8B, 0x4E, 0x10];  // mov [rdi+8],rax; mov rcx,[rsi+10h]
        var m = Mutate(FaultType.Source, code);
        Assert.Equal(Ip + 4, m.Address);
        var after = One(m.New);
        Assert.Equal(Register.RCX, after.Op0Register);
        Assert.Equal(OpKind.Memory, after.Op1Kind);
        Assert.NotEqual(m.Old, m.New);
    }

    [Fact]
    public void Destination_TakesTheNextStore_SkipsALoad()
    {
        byte[] code = [0x48, 0x8B, 0x4E, 0x10, 0x48, 0x89, 0x47, 0x08];  // mov rcx,[rsi+10h]; mov [rdi+8],rax
        var m = Mutate(FaultType.Destination, code);
        Assert.Equal(Ip + 4, m.Address);
        var after = One(m.New);
        Assert.Equal(OpKind.Memory, after.Op0Kind);
        Assert.Equal(Register.RAX, after.Op1Register);
        Assert.NotEqual(m.Old, m.New);
    }

    [Theory]
    [InlineData(new byte[] { 0x74, 0x05 }, new byte[] { 0x75, 0x05 })]                                   // je → jne
    [InlineData(new byte[] { 0x0F, 0x8C, 0x00, 0x01, 0x00, 0x00 }, new byte[] { 0x0F, 0x8D, 0x00, 0x01, 0x00, 0x00 })] // jl near → jge
    [InlineData(new byte[] { 0x0F, 0x44, 0xC1 }, new byte[] { 0x0F, 0x45, 0xC1 })]                       // cmove → cmovne
    [InlineData(new byte[] { 0x0F, 0x9F, 0xC0 }, new byte[] { 0x0F, 0x9E, 0xC0 })]                       // setg → setle
    [InlineData(new byte[] { 0xF3, 0xA6 }, new byte[] { 0xF2, 0xA6 })]                                   // repe cmpsb → repne
    [InlineData(new byte[] { 0xF2, 0xAE }, new byte[] { 0xF3, 0xAE })]                                   // repne scasb → repe
    [InlineData(new byte[] { 0xF3, 0x48, 0xAB }, new byte[] { 0x48, 0xAB, 0x90 })]                       // rep stosq → one stosq
    public void Control_InvertsTheCondition(byte[] code, byte[] expected)
    {
        var m = Mutate(FaultType.Control, [0x48, 0x01, 0xC8, .. code], 0);  // add rax,rcx first: not a condition
        Assert.Equal(Ip + 3, m.Address);
        Assert.Equal(expected, m.New);
    }

    [Fact]
    public void Parameter_DeletesAnArgumentLoadBeforeTheCall_NotOtherRegisters()
    {
        byte[] code =
        [
            0x48, 0x8B, 0xFB,                   // mov rdi,rbx
            0x48, 0x8B, 0xC3,                   // mov rax,rbx (not an argument register)
            0x8B, 0x75, 0xF8,                   // mov esi,[rbp-8] (loaded from the stack)
            0xE8, 0x00, 0x00, 0x00, 0x00,       // call
        ];
        var hit = new HashSet<ulong>();
        for (int seed = 0; seed < 40; seed++)
        {
            var m = Mutate(FaultType.Parameter, code, 0, seed);
            Assert.All(m.New, b => Assert.Equal(0x90, b));
            Assert.Equal(m.Old.Length, m.New.Length);
            hit.Add(m.Address);
        }
        Assert.Equal(new HashSet<ulong> { Ip, Ip + 6 }, hit);
    }

    [Fact]
    public void Parameter_StopsAtTheBasicBlock()
    {
        byte[] code = [0x48, 0x8B, 0xFB, 0x74, 0x00, 0xE8, 0x00, 0x00, 0x00, 0x00];   // mov rdi,rbx; je; call
        Assert.Null(Mutator.TryMutate(FaultType.Parameter, code, Ip, Ip, new Random(1)));
    }

    [Fact]
    public void NothingSuitable_IsNull()
    {
        byte[] code = [0x48, 0x01, 0xC8, 0xC3];                          // add rax,rcx; ret
        foreach (var t in new[] { FaultType.Pointer, FaultType.Source, FaultType.Destination, FaultType.Control, FaultType.Parameter })
            Assert.Null(Mutator.TryMutate(t, code, Ip, Ip, new Random(1)));
    }

    [Fact]
    public void SameSeed_SameMutation()
    {
        byte[] code = [0x48, 0x8B, 0x44, 0x8F, 0x10, 0x48, 0x89, 0x47, 0x08, 0x74, 0x05];
        foreach (var t in FaultTypes.Concrete)
        {
            var a = Mutator.TryMutate(t, code, Ip, Ip, new Random(42));
            var b = Mutator.TryMutate(t, code, Ip, Ip, new Random(42));
            Assert.Equal(a?.New, b?.New);
            Assert.Equal(a?.Address, b?.Address);
        }
    }
}
