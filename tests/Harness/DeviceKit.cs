// Small shared pieces of the device and accounting tests: a scratch port device with an IRQ
// line, and the check that the kernel's denial counters moved by exactly the expected amounts.
using Bulkhead.Lib.Sys;
using Bulkhead.Machine.Io;
using Bulkhead.Machine.Irq;

namespace Bulkhead.Tests.Harness;

/// <summary>Eight byte registers; writing offset 7 sets the IRQ line to (value != 0).</summary>
public sealed class ScratchDevice : IPortDevice
{
    public readonly byte[] Regs = new byte[8];
    public IIrqLine? Irq { get; set; }
    public int Writes { get; private set; }
    public string Name => "scratch";

    public uint Read(int offset, int size)
    {
        uint v = 0;
        for (int i = 0; i < size && offset + i < 8; i++) v |= (uint)Regs[offset + i] << (8 * i);
        return v;
    }

    public void Write(int offset, int size, uint value)
    {
        Writes++;
        for (int i = 0; i < size && offset + i < 8; i++) Regs[offset + i] = (byte)(value >> (8 * i));
        if (offset == 7) Irq?.Set(value != 0);
    }
}

public static class DenialAssert
{
    /// <summary>Every Fig. 5.5 counter moved from <paramref name="before"/> by exactly what
    /// <paramref name="expected"/> says (0 for the categories it does not name).</summary>
    public static void Moved(TestSystem sys, long[] before, params (Denial What, int N)[] expected)
    {
        var after = sys.Kernel.Denials();
        for (int i = 0; i < after.Length; i++)
        {
            int want = expected.Where(e => (int)e.What == i).Sum(e => e.N);
            Assert.True(after[i] - before[i] == want, $"{(Denial)i}: counted {after[i] - before[i]}, expected {want}");
        }
    }
}
