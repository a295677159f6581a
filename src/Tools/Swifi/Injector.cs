// The injector (thesis §5.1.1, "Fault-injection Procedure"; docs/swifi.md): from outside the
// driver, and trusted (it runs as root on the host, beside the instance), it stops every thread
// of the driver's Linux process with ptrace, writes the mutations into the process's text
// through /proc/PID/mem, and lets the threads run again. The text pages of the shared image are
// private mappings, so a write copies the page for that process alone: other components running
// the same binary are untouched. The driver never gets write access to its own text (host
// confinement, docs/confinement.md).
// Inject picks, per fault, a random byte offset into the driver's text (DriverText), reads the
// current bytes of the function there (earlier faults of the same incarnation stay visible),
// and asks Mutator for the closest suitable instruction, moving on to the next functions when
// that one has none. Fault number n of a campaign draws every choice from a Random seeded by
// (seed, n) alone (FaultSeed), so `swifi inject --seed S --fault N` replays any fault of a
// campaign, and two runs with one seed inject the same faults as long as the driver instances
// they land in have seen the same faults before.
// Rules: all ptrace calls of one injection run on one thread (ptrace ties a tracee to the
// thread that seized it); a process or thread that dies meanwhile ends the injection with what
// was written so far; threads are always detached, with any signal that arrived while stopped.
namespace Bulkhead.Swifi;

/// <summary>A fault as written into a process: its number in the campaign, the mutation, the
/// function it is in, and the function-relative offset (the same in every process of the image).</summary>
public sealed record Injection(long Number, Mutation Mutation, string Function, ulong FunctionOffset);

public sealed class Injector
{
    private readonly Dictionary<string, (ElfImage Image, Dictionary<string, DriverText> Texts)> _images = new(StringComparer.Ordinal);

    /// <summary>Injects faults number <paramref name="first"/> to first + count - 1 of the
    /// campaign seeded <paramref name="seed"/>, of <paramref name="type"/>, into process
    /// <paramref name="pid"/>, which runs <paramref name="driver"/>; what was written (fewer than
    /// asked if the process died meanwhile, or if no instruction of the text suits the type).</summary>
    public List<Injection> Inject(int pid, string driver, FaultType type, int seed, long first, int count) =>
        Inject(pid, image => DriverText.For(image, driver), driver, type, seed, first, count);

    /// <summary>Inject, into the text that <paramref name="select"/> picks from the process's image
    /// (cached under <paramref name="key"/>).</summary>
    public List<Injection> Inject(int pid, Func<ElfImage, DriverText> select, string key, FaultType type, int seed, long first, int count)
    {
        DriverText text;
        ulong bias;
        try { (text, bias) = Target(pid, select, key); }
        catch (IOException) when (!Directory.Exists($"/proc/{pid}/task"))
        {
            return [];                                  // the process is gone
        }
        List<Injection> done = [];
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { done = InjectStopped(pid, text, bias, type, seed, first, count); }
            catch (Exception e) { failure = e; }
        }, 1 << 20) { Name = "swifi-ptrace" };
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
        return done;
    }

    /// <summary>The driver's text in the image process <paramref name="pid"/> runs, and the
    /// difference between its addresses in the process and in the file (the load bias).</summary>
    public (DriverText Text, ulong Bias) Target(int pid, Func<ElfImage, DriverText> select, string key)
    {
        string exe = File.ResolveLinkTarget($"/proc/{pid}/exe", false)?.FullName
                     ?? throw new IOException($"swifi: process {pid} has no executable");
        if (!_images.TryGetValue(exe, out var entry))
        {
            var image = ElfImage.Parse(File.ReadAllBytes($"/proc/{pid}/exe"), exe);
            _images[exe] = entry = (image, new Dictionary<string, DriverText>(StringComparer.Ordinal));
        }
        if (!entry.Texts.TryGetValue(key, out var text)) entry.Texts[key] = text = select(entry.Image);
        return (text, LoadBase(pid, exe) - entry.Image.FirstLoadAddress);
    }

    /// <summary>Where the mapping of file offset 0 of <paramref name="exe"/> starts in the process.</summary>
    private static ulong LoadBase(int pid, string exe)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/maps"))
        {
            // start-end perms offset dev inode path
            var f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 6 && f[5].Trim() == exe && Convert.ToUInt64(f[2], 16) == 0)
                return Convert.ToUInt64(f[0][..f[0].IndexOf('-')], 16);
        }
        throw new IOException($"swifi: process {pid} does not map {exe}");
    }

    /// <summary>The seed of fault number <paramref name="n"/> of a campaign seeded <paramref name="seed"/>
    /// (a SplitMix64 step of both: fixed across runs and .NET versions, unlike HashCode).</summary>
    public static int FaultSeed(int seed, long n)
    {
        ulong z = ((ulong)(uint)seed << 32 ^ (ulong)n) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & 0x7FFF_FFFF);
    }

    private static List<Injection> InjectStopped(int pid, DriverText text, ulong bias, FaultType type, int seed, long first, int count)
    {
        var stopped = new Dictionary<int, int>();   // tid → signal to hand back
        try
        {
            if (!StopAll(pid, stopped)) return [];
            using var mem = File.OpenHandle($"/proc/{pid}/mem", FileMode.Open, FileAccess.ReadWrite);
            return Apply(text, bias, type, seed, first, count,
                (address, code) => RandomAccess.Read(mem, code, (long)address) == code.Length,
                (address, bytes) => RandomAccess.Write(mem, bytes, (long)address));
        }
        catch (IOException) when (!Directory.Exists($"/proc/{pid}/task"))
        {
            return [];                                  // the process died while we worked
        }
        finally
        {
            foreach (var (tid, signal) in stopped) Ptrace.Detach(tid, signal);
        }
    }

    /// <summary>The fault loop: faults first … first + count - 1 into <paramref name="text"/>
    /// loaded at <paramref name="bias"/>, reading a function's current bytes with
    /// <paramref name="read"/> (false: the memory is gone, stop) and writing each mutation with
    /// <paramref name="write"/>. The injector runs it on a stopped process, ImageCopy on a copy of the file.</summary>
    public static List<Injection> Apply(DriverText text, ulong bias, FaultType type, int seed, long first, int count,
                                        Func<ulong, byte[], bool> read, Action<ulong, byte[]> write)
    {
        var done = new List<Injection>(count);
        for (long n = first; n < first + count; n++)
        {
            var rng = new Random(FaultSeed(seed, n));
            var concrete = type == FaultType.Random ? FaultTypes.Concrete[rng.Next(FaultTypes.Concrete.Length)] : type;
            var (index, offset) = text.Locate(rng.NextInt64(text.Bytes));
            for (int k = 0; k < text.Functions.Count; k++)
            {
                var fn = text.Functions[(index + k) % text.Functions.Count];
                ulong at = fn.Address + bias;
                var code = new byte[fn.Size];
                if (!read(at, code)) return done;
                var m = Mutator.TryMutate(concrete, code, at, k == 0 ? at + offset : at, rng);
                if (m is null) continue;
                write(m.Address, m.New);
                done.Add(new Injection(n, m, fn.Name, m.Address - at));
                break;
            }
        }
        return done;
    }

    /// <summary>Seizes and stops every thread of <paramref name="pid"/>, listing its threads
    /// again until no new one appeared; false if the process is gone.</summary>
    private static bool StopAll(int pid, Dictionary<int, int> stopped)
    {
        for (int round = 0; round < 16; round++)
        {
            bool fresh = false;
            string[] tasks;
            try { tasks = Directory.GetDirectories($"/proc/{pid}/task"); }
            catch (DirectoryNotFoundException) { return false; }
            foreach (var dir in tasks)
            {
                int tid = int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture);
                if (stopped.ContainsKey(tid)) continue;
                int err = Ptrace.Seize(tid);
                if (err == Ptrace.Esrch) continue;          // the thread ended
                if (err == Ptrace.Eperm && ProcStat.Exited($"/proc/{pid}/task/{tid}/stat")) continue;   // a zombie: ptrace refuses it
                if (err != 0) throw new IOException($"swifi: ptrace seize of thread {tid} of {pid}: errno {err}");
                fresh = true;
                stopped[tid] = 0;
                if (Ptrace.Interrupt(tid) != 0 || !Ptrace.WaitStopped(tid, out int signal)) stopped.Remove(tid);
                else stopped[tid] = signal;
            }
            if (!fresh) return stopped.Count > 0;
        }
        return stopped.Count > 0;
    }
}
