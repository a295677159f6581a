// Bad input to `swifi` gets a clear error and changes nothing: unknown options, fault types,
// drivers and out-of-range numbers name what is wrong; a results file that is not one names the
// file and line; a campaign record round-trips through its JSON line.
using Bulkhead.Host.Swifi;

namespace Bulkhead.System.Tests.Swifi;

public sealed class SwifiCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bh-swifi-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(new[] { "--type", "cosmic" }, "unknown fault type 'cosmic'")]
    [InlineData(new[] { "--faults", "0" }, "--faults takes a number from 1 to 100000, not '0'")]
    [InlineData(new[] { "--trials", "many" }, "--trials takes a number")]
    [InlineData(new[] { "--driver", "fxp" }, "unknown driver 'fxp'")]
    [InlineData(new[] { "--preset", "nooks" }, "unknown preset 'nooks'")]
    [InlineData(new[] { "--seed" }, "--seed needs a value")]
    [InlineData(new[] { "--fast" }, "unknown option '--fast'")]
    public void Options_BadValue_NamesIt(string[] args, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new SwifiOptions(args));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_Good_AreTaken()
    {
        var o = new SwifiOptions(["--driver", "dp8390", "--type", "control", "--trials", "7", "--faults", "3", "--seed", "42", "--fault", "9"]);
        Assert.Equal(("dp8390", Bulkhead.Swifi.FaultType.Control, 7, 3, 42, 9L), (o.Driver, o.Type, o.Trials, o.Faults, o.Seed, o.First));
    }

    [Fact]
    public void Results_NotAResultsFile_NamesFileAndLine()
    {
        string file = Path.Combine(_dir, "r.jsonl");
        var campaign = new CampaignRecord("swifi", "rtl8139", "random", 2, 5, 1, 100, 3, "img", "now", ["CPU x"]);
        File.WriteAllLines(file, [SwifiJson.Line(campaign), "{ not json"]);
        var e = Assert.Throws<InvalidDataException>(() => SwifiJson.Read(file));
        Assert.StartsWith($"{file}:2: not a SWIFI trial record", e.Message, StringComparison.Ordinal);
        File.WriteAllText(file, "");
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => SwifiJson.Read(file)).Message, StringComparison.Ordinal);
        File.WriteAllLines(file, [SwifiJson.Line(campaign)]);
        var (back, trials, summary) = SwifiJson.Read(file);
        Assert.Equal(campaign.Driver, back.Driver);
        Assert.Equal(campaign.DenialCategories, back.DenialCategories);
        Assert.Empty(trials);
        Assert.Null(summary); // a campaign that did not end

        var end = new SummaryRecord(0, 0, 0, 0, 0, 0, 1.5, true, new() { ["restart exception"] = 2, ["filter sent"] = 40 });
        File.WriteAllLines(file, [SwifiJson.Line(campaign), SwifiJson.Line(end)]);
        (_, trials, summary) = SwifiJson.Read(file);
        Assert.Empty(trials);
        Assert.Equal((true, 2L, 40L), (summary!.Completed, summary.Counters["restart exception"], summary.Counters["filter sent"]));
        File.WriteAllLines(file, [SwifiJson.Line(campaign), SwifiJson.Line(end), SwifiJson.Line(end)]);
        Assert.Equal($"{file}:3: a line after the campaign's summary",
                     Assert.Throws<InvalidDataException>(() => SwifiJson.Read(file)).Message);
    }

    [Fact]
    public void Options_Presets_AreKnown_AndSetTheirOwnDriver()
    {
        Assert.Equal("thesis-5.1.3", new SwifiOptions(["--preset", "thesis-5.1.3"]).Preset);
        Assert.Contains("known: thesis-5.1.2, thesis-5.1.3", Assert.Throws<ArgumentException>(() => new SwifiOptions(["--preset", "x"])).Message, StringComparison.Ordinal);
        Assert.Contains("sets --driver", Assert.Throws<ArgumentException>(() =>
            SwifiCampaign.Run("/nonexistent", new SwifiOptions(["--preset", "thesis-5.1.3", "--driver", "at_wini"]))).Message, StringComparison.Ordinal);
    }
}
