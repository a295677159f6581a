// A driver instance on paper: a copy of the image file into which faults are written as the
// injector writes them into a process (Injector.Apply), one after the other, so later faults see
// earlier ones. A campaign's results are checked against it: the faults recorded for one driver
// instance, replayed here by their numbers and the campaign's seed, must come out the same
// (docs/swifi.md, "Reproducing a campaign").
namespace Bulkhead.Swifi;

public sealed class ImageCopy(ElfImage image)
{
    private readonly byte[] _bytes = image.File.ToArray();

    /// <summary>Faults first … first + count - 1 of the campaign seeded <paramref name="seed"/>
    /// written into <paramref name="text"/> of this copy: what Injector.Inject writes into a
    /// process that has seen the same faults before.</summary>
    public List<Injection> Inject(DriverText text, FaultType type, int seed, long first, int count) =>
        Injector.Apply(text, 0, type, seed, first, count, Read, Write);

    private bool Read(ulong address, byte[] code) =>
        image.TryFileOffset(address, code.Length, out long at) && _bytes.AsSpan((int)at, code.Length).TryCopyTo(code);

    private void Write(ulong address, byte[] bytes)
    {
        if (image.TryFileOffset(address, bytes.Length, out long at)) bytes.CopyTo(_bytes.AsSpan((int)at));
    }
}
