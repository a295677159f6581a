// The file tree of `bench filter` (thesis Fig. 5.14's "copy source tree"), made from a seed so
// that the program that writes it and the ones that walk it later agree on what must be there.
// Shape: directories are filled breadth-first with 20-50 entries each, an entry being a
// subdirectory with probability 1/16 (the last entry of the last open directory always is, so
// the tree never runs out of room); file sizes are drawn from the size distribution of this
// repository's own src/ files (SizeQuantiles: every 5th percentile, linearly interpolated).
// Contents are lines of lowercase pseudo-words cut from one seeded text; a quarter of the files
// big enough get Needle (upper case, so the text never makes it by chance) once, at a seeded
// place: `grep` must find exactly Matches of them.
// Interface: Make(seed, files) → Entries in creation order (parents before children, paths
// relative to the tree's root, starting with '/'), Files, Dirs, Bytes, Matches; Fill writes a
// file's contents.
namespace Bulkhead.Bench;

public sealed class TreePlan
{
    /// <summary>File sizes in bytes at percentiles 0, 5, …, 100 of src/ (386 files, 1.78 MB, mean 4.6 KB).</summary>
    public static readonly int[] SizeQuantiles =
        [227, 400, 711, 1088, 1484, 1727, 1919, 2303, 2587, 2983, 3262, 3784, 4259, 4720, 5658, 6447, 7269, 8327, 10088, 12738, 22297];
    public const string Needle = "FILTERBENCH";
    private const int MinEntries = 20, MaxEntries = 50, SubdirOneIn = 16;

    public sealed record Entry(string Path, bool IsDir, int Size, int NeedleAt, int TextAt);

    private readonly byte[] _text;

    public IReadOnlyList<Entry> Entries { get; }
    public int Files { get; }
    public int Dirs { get; }
    public long Bytes { get; }
    public int Matches { get; }

    private TreePlan(byte[] text, List<Entry> entries)
    {
        _text = text;
        Entries = entries;
        Files = entries.Count(e => !e.IsDir);
        Dirs = entries.Count - Files;
        Bytes = entries.Sum(e => (long)e.Size);
        Matches = entries.Count(e => e.NeedleAt >= 0);
    }

    public static TreePlan Make(int seed, int files)
    {
        var rng = new Random(seed);
        byte[] text = Text(rng, 64 << 10);
        var entries = new List<Entry>();
        var open = new Queue<string>();
        open.Enqueue("");
        int made = 0, dirs = 0;
        while (made < files)
        {
            string dir = open.Dequeue();
            int count = rng.Next(MinEntries, MaxEntries + 1);
            for (int e = 0; e < count && made < files; e++)
            {
                if ((open.Count == 0 && e == count - 1) || rng.Next(SubdirOneIn) == 0)
                {
                    string sub = $"{dir}/d{dirs++:D3}";
                    entries.Add(new Entry(sub, true, 0, -1, 0));
                    open.Enqueue(sub);
                    continue;
                }
                int size = Size(rng.NextDouble());
                int needleAt = size > Needle.Length && rng.Next(4) == 0 ? rng.Next(size - Needle.Length) : -1;
                entries.Add(new Entry($"{dir}/f{made++:D5}.txt", false, size, needleAt, rng.Next(text.Length - SizeQuantiles[^1])));
            }
        }
        return new TreePlan(text, entries);
    }

    /// <summary>The size at quantile <paramref name="u"/> (0 ≤ u &lt; 1) of SizeQuantiles.</summary>
    private static int Size(double u)
    {
        double at = u * (SizeQuantiles.Length - 1);
        int i = (int)at;
        return (int)(SizeQuantiles[i] + (at - i) * (SizeQuantiles[i + 1] - SizeQuantiles[i]));
    }

    private static byte[] Text(Random rng, int length)
    {
        var text = new byte[length];
        for (int i = 0; i < length; i++)
            text[i] = (byte)(i % 64 == 63 ? '\n' : rng.Next(6) == 0 ? ' ' : 'a' + rng.Next(26));
        return text;
    }

    /// <summary>Writes the contents of file <paramref name="e"/> into <paramref name="into"/> (at least e.Size bytes).</summary>
    public void Fill(Entry e, Span<byte> into)
    {
        _text.AsSpan(e.TextAt, e.Size).CopyTo(into);
        if (e.NeedleAt >= 0)
            for (int i = 0; i < Needle.Length; i++) into[e.NeedleAt + i] = (byte)Needle[i];
    }
}
