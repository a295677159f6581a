// The injector on a live process no one here wrote the code of: a small C program built with the
// host's cc, running two threads that both call `answer` and checking that its bytes never
// change. The injector (root, not the program's parent) stops both threads, writes a fault into
// `answer` through /proc/PID/mem and detaches: the program sees its own text change, writes the
// new bytes to a file and exits; the bytes it saw are the ones the injection reports. The ELF
// reader is checked on the same binary (the function's address and size against nm's view of
// it: the bytes at the symbol decode to `lea`/`ret`) and on a truncated copy (a clear error).
using System.Diagnostics;
using Bulkhead.Swifi;

namespace Bulkhead.Tools.Tests.Swifi;

public sealed class InjectorTests : IDisposable
{
    private const string Victim = """
        #include <pthread.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        __attribute__((noinline)) int answer(int x) { return x * 3 + 42; }
        static unsigned char first[8];
        static void *spin(void *arg) { volatile int s = 0; for (;;) s += answer(s & 7); return arg; }
        int main(int argc, char **argv) {
            pthread_t t;
            memcpy(first, (void *)answer, sizeof first);
            pthread_create(&t, 0, spin, 0);
            FILE *ready = fopen(argv[2], "w"); fputs("ready", ready); fclose(ready);
            for (int i = 0; i < 60000; i++) {
                if (memcmp(first, (void *)answer, sizeof first)) {
                    FILE *f = fopen(argv[1], "w");
                    for (unsigned k = 0; k < sizeof first; k++) fprintf(f, "%02X", ((unsigned char *)answer)[k]);
                    fclose(f);
                    return 7;
                }
                usleep(1000);
            }
            return 0;
        }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("bh-swifi-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Build()
    {
        string src = Path.Combine(_dir, "victim.c"), bin = Path.Combine(_dir, "victim");
        File.WriteAllText(src, Victim);
        var cc = Process.Start(new ProcessStartInfo("cc", ["-O1", "-pthread", "-o", bin, src]) { RedirectStandardError = true })!;
        string err = cc.StandardError.ReadToEnd();
        cc.WaitForExit();
        Assert.True(cc.ExitCode == 0, "cc: " + err);
        return bin;
    }

    [Fact]
    public void ElfImage_FindsTheFunction_AndRejectsATruncatedFile()
    {
        string bin = Build();
        var image = ElfImage.Load(bin);
        var answer = Assert.Single(image.Functions, f => f.Name == "answer");
        Assert.InRange(answer.Size, 4UL, 16UL);
        byte[] file = File.ReadAllBytes(bin);
        Assert.True(image.TryFileOffset(answer.Address, (int)answer.Size, out long at));
        var code = Mutator.Decode(file.AsSpan((int)at, (int)answer.Size).ToArray(), answer.Address);
        Assert.Equal(Iced.Intel.Mnemonic.Ret, code[^1].Mnemonic);
        Assert.False(image.TryFileOffset(ulong.MaxValue - 4, 4, out _));
        var e = Assert.Throws<InvalidDataException>(() => ElfImage.Parse(file[..(file.Length / 2)], "victim-half"));
        Assert.StartsWith("victim-half: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inject_IntoARunningTwoThreadProcess_ItSeesItsTextChange_AndRunsOn()
    {
        string bin = Build(), seen = Path.Combine(_dir, "seen"), ready = Path.Combine(_dir, "ready");
        // Not our child: the runtime's SIGCHLD reaper must not see the tracee's stops.
        var sh = Process.Start(new ProcessStartInfo("sh", ["-c", $"'{bin}' '{seen}' '{ready}' >/dev/null 2>&1 & echo $!"]) { RedirectStandardOutput = true })!;
        int pid = int.Parse(sh.StandardOutput.ReadLine()!.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        sh.WaitForExit();
        try
        {
            Wait(() => File.Exists(ready), "the program to start");
            var done = new Injector().Inject(pid, image => DriverText.Of(image, "victim", ["answer"]), "victim", FaultType.Omission, seed: 3, first: 0, count: 1);
            var i = Assert.Single(done);
            Assert.Equal("answer", i.Function);
            // The same fault replayed on the file: same place, same bytes.
            var image = ElfImage.Load(bin);
            var replayed = Assert.Single(new ImageCopy(image).Inject(DriverText.Of(image, "victim", ["answer"]), FaultType.Omission, 3, 0, 1));
            Assert.Equal(i.FunctionOffset, replayed.FunctionOffset);
            Assert.Equal(i.Mutation.Old, replayed.Mutation.Old);
            Assert.Equal(i.Mutation.New, replayed.Mutation.New);
            Assert.All(i.Mutation.New, b => Assert.Equal(0x90, b));
            Wait(() => File.Exists(seen) && File.ReadAllText(seen).Length == 16, "the program to see its text change");
            // What the program read at `answer` is the original with the injection's bytes in place.
            byte[] now = Convert.FromHexString(File.ReadAllText(seen));
            Assert.Equal(i.Mutation.New, now.AsSpan((int)i.FunctionOffset, i.Mutation.New.Length).ToArray());
            Wait(() => !Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z", "the program to exit (it was detached, not left stopped)");
        }
        finally
        {
            try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
    }

    [Fact]
    public void FaultSeed_DependsOnTheSeedAndTheNumberAlone()
    {
        Assert.Equal(Injector.FaultSeed(7, 123), Injector.FaultSeed(7, 123));
        var seeds = Enumerable.Range(0, 1000).Select(n => Injector.FaultSeed(7, n)).ToHashSet();
        Assert.True(seeds.Count > 990, $"{seeds.Count} distinct seeds of 1000 faults");
        Assert.NotEqual(Injector.FaultSeed(7, 5), Injector.FaultSeed(8, 5));
        Assert.Equal(595_722_552, Injector.FaultSeed(1, 0));     // fixed: results files name faults by (seed, n)
    }

    private static void Wait(Func<bool> done, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < until, $"timed out waiting for {what}");
            Thread.Sleep(10);
        }
    }
}
