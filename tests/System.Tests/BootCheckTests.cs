// What `boot` refuses before it starts anything (src/Kernel/Main/Boot/BootCheck.cs): a boot
// configuration that starts no process, and one that names a component bulkhead-image does
// not have — checked against the list the image binary itself prints (ImageComponents), and
// end to end through bulkhead-host, which must exit 1 with the cause and leave no instance.
using Bulkhead.Kernel.Main.Boot;
using Bulkhead.Kernel.Boot;
using Bulkhead.Tests.Harness;

namespace Bulkhead.System.Tests;

public sealed class BootCheckTests : IDisposable
{
    private const string NoProcess = "no process to start: a boot configuration needs at least one 'process' section " +
                                     "(etc/boot.conf starts pm, ds, rs, init, …); without one the system would boot with no processes";

    private static readonly string Image = Path.Combine(AppContext.BaseDirectory, BootProcess.ImageBinary);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bulkhead-test-bootcheck-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public BootCheckTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private static IReadOnlyList<string> Components()
    {
        var names = ImageComponents.TryList(Image, out string error);
        Assert.True(names is not null, error);
        return names;
    }

    [Fact]
    public void ImageComponents_OfTheBuiltImage_ListEveryComponentOfTheDefaultSystem()
    {
        var names = Components();
        foreach (var p in BootConfig.Load(Path.Combine(TestSystem.RepoRoot(), "etc", "boot.conf")).Processes)
            if (p.Kind == ProgramKind.Image) Assert.Contains(p.Program, names);
        Assert.Contains("service", names); // what ServiceRunner starts
        Assert.Contains("testdrv", names);
        Assert.DoesNotContain("nosuch", names);
    }

    [Theory]
    [InlineData("usage: bulkhead-image init|echo|pm [args...]\n", new[] { "init", "echo", "pm" })]
    [InlineData("noise\nusage: bulkhead-image one\n", new[] { "one" })]
    [InlineData("usage: other-binary init|echo [args...]\n", null)]
    [InlineData("usage: bulkhead-image init||echo [args...]\n", null)]
    [InlineData("", null)]
    public void ImageComponents_Parse_ReadsTheUsageLine(string text, string[]? names) =>
        Assert.Equal(names, ImageComponents.Parse(text, "bulkhead-image"));

    [Fact]
    public void ImageComponents_MissingBinary_SaysSo()
    {
        Assert.Null(ImageComponents.TryList("/nonexistent/bulkhead-image", out string error));
        Assert.Equal("/nonexistent/bulkhead-image does not exist", error);
    }

    [Fact]
    public void Check_UnknownComponent_NamesFileLineAndWhatTheImageHas()
    {
        var conf = BootConfig.Parse("process pm { program image pm; slot 0; };\n\nprocess drv {\n  program image nosuch;\n};", "etc/test.conf");
        var e = Assert.Throws<BootConfigException>(() => BootCheck.Check(conf, AppContext.BaseDirectory));
        Assert.Equal($"etc/test.conf:3: no component nosuch in bulkhead-image (have: {string.Join(", ", Components())})", e.Message);
        Assert.Equal((3, "etc/test.conf"), (e.Line, e.File));
    }

    [Fact]
    public void Check_DefaultSystem_Passes() =>
        BootCheck.Check(BootConfig.Load(Path.Combine(TestSystem.RepoRoot(), "etc", "boot.conf")), AppContext.BaseDirectory);

    [Fact]
    public void Check_PathProgramsOnly_DoNotRunTheImage()
    {
        var conf = BootConfig.Parse("process a { program path bin/a; };", "etc/test.conf");
        BootCheck.Check(conf, () => throw new InvalidOperationException("the image was asked"));
    }

    [Fact]
    public void Check_ImageCannotTell_SaysWhy()
    {
        var conf = BootConfig.Parse("process a {\n  program image a;\n};", "etc/test.conf");
        var e = Assert.Throws<BootConfigException>(() => BootCheck.Check(conf, () => (null, "/x/bulkhead-image does not exist")));
        Assert.Equal("etc/test.conf:1: cannot tell whether bulkhead-image has component a: /x/bulkhead-image does not exist", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing but a comment\n")]
    [InlineData("system { procs 64; };\ndevice eth0 { model ne2000; io 300; irq 9; };\n")]
    public void Check_NoProcess_IsAnError(string text)
    {
        var conf = BootConfig.Parse(text, "etc/test.conf");
        var e = Assert.Throws<BootConfigException>(() => BootCheck.Check(conf, () => throw new InvalidOperationException("the image was asked")));
        Assert.Equal($"etc/test.conf:0: {NoProcess}", e.Message);
    }

    /// <summary>Runs bulkhead-host boot with <paramref name="config"/> in a run directory of its own.</summary>
    private (int Status, string Output, string Run) Boot(string config, params string[] extra)
    {
        string file = Path.Combine(_dir, "boot.conf");
        File.WriteAllText(file, config);
        string run = Path.Combine(_dir, "run");
        var (status, output) = HostTool.Run(run, ["boot", "--config", file, .. extra]);
        return (status, output, run);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Boot_UnknownComponent_RefusedBeforeAnythingStarts(bool detach)
    {
        var (status, output, run) = Boot("process pm { program image pm; slot 0; };\nprocess drv {\n  program image nosuch;\n};\n",
                                         detach ? ["--detach"] : []);
        Assert.Equal(1, status);
        Assert.Equal($"boot: {Path.Combine(_dir, "boot.conf")}:2: no component nosuch in bulkhead-image (have: {string.Join(", ", Components())})\n", output);
        Assert.False(File.Exists(Path.Combine(run, "kernel.pid")));
        Assert.False(File.Exists(Path.Combine(run, "control.sock")));
    }

    [Fact]
    public void Boot_EmptyConfiguration_RefusedBeforeAnythingStarts()
    {
        var (status, output, run) = Boot("# an empty boot configuration\n");
        Assert.Equal(1, status);
        Assert.Equal($"boot: {Path.Combine(_dir, "boot.conf")}:0: {NoProcess}\n", output);
        Assert.False(File.Exists(Path.Combine(run, "kernel.pid")));
    }
}
