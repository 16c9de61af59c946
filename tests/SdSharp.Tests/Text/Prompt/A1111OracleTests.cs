using System.Globalization;
using System.Text.Json;
using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Prompt;

/// <summary>
/// Compares against outputs of A1111's own prompt_parser.py / extra_networks.py on generated prompts
/// (tests/fixtures/prompt/README.md says how they were made). Where lark's result depended on Python's hash seed
/// the fixture lists every outcome seen, and ours must be one of them.
/// </summary>
public class A1111OracleTests
{
    private static readonly Lazy<JsonDocument> Fixture = new(() =>
    {
        string path = Environment.GetEnvironmentVariable("SDSHARP_PROMPT_ORACLE")
                      ?? TestPaths.Fixture("prompt", "a1111-prompt-oracle.json");
        return JsonDocument.Parse(File.ReadAllText(path));
    });

    private static IEnumerable<JsonElement> Cases(string section) => Fixture.Value.RootElement.GetProperty(section).EnumerateArray();

    private static double Weight(JsonElement e) => e.GetString() switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        "nan" => double.NaN,
        var s => double.Parse(s!, CultureInfo.InvariantCulture),
    };

    [Fact]
    public void Schedules_match_A1111()
    {
        var failures = new List<string>();
        int deterministic = 0, count = 0;
        foreach (JsonElement c in Cases("schedules"))
        {
            count++;
            string prompt = c.GetProperty("prompt").GetString()!;
            int steps = c.GetProperty("steps").GetInt32();
            int? hires = c.GetProperty("hires").ValueKind == JsonValueKind.Null ? null : c.GetProperty("hires").GetInt32();
            bool old = c.GetProperty("old").GetBoolean();
            var outcomes = c.GetProperty("outcomes").EnumerateArray()
                .Select(o => string.Join("|", o.EnumerateArray().Select(e => $"{e[0].GetInt32()}:{e[1].GetString()}")))
                .ToList();
            if (outcomes.Count == 1) deterministic++;
            var ours = PromptScheduler.Schedule(prompt, steps, new ScheduleOptions(hires, old));
            string got = string.Join("|", ours.Select(e => $"{e.EndStep}:{e.Text}"));
            if (!outcomes.Contains(got))
                failures.Add($"{JsonSerializer.Serialize(prompt)} steps={steps} hires={hires} old={old}\n  got      {got}\n  expected {string.Join("\n        or ", outcomes)}");
        }
        Assert.True(count > 0 && deterministic > 0);
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} differ:\n" + string.Join("\n", failures.Take(30)));
    }

    [Fact]
    public void Emphasis_matches_A1111() => CheckTexts(c =>
    {
        string text = c.GetProperty("text").GetString()!;
        if (c.TryGetProperty("error", out _))
            return Throws(() => EmphasisParser.Parse(text)) ? null : "expected an error (A1111's float() fails)";
        var expected = c.GetProperty("fragments").EnumerateArray().Select(f => new PromptFragment(f[0].GetString()!, Weight(f[1]))).ToList();
        IReadOnlyList<PromptFragment> got;
        try { got = EmphasisParser.Parse(text); }
        catch (InvalidInputException e) { return e.Message; }
        return expected.SequenceEqual(got) ? null : $"got {string.Join(", ", got)}\n  expected {string.Join(", ", expected)}";
    });

    [Fact]
    public void And_split_matches_A1111() => CheckTexts(c =>
    {
        var expected = c.GetProperty("parts").EnumerateArray().Select(p => new SubPrompt(p[0].GetString()!, Weight(p[1]))).ToList();
        var got = AndComposition.Split(c.GetProperty("text").GetString()!);
        return expected.SequenceEqual(got) ? null : $"got {string.Join(", ", got)}\n  expected {string.Join(", ", expected)}";
    });

    [Fact]
    public void Extra_network_extraction_matches_A1111() => CheckTexts(c =>
    {
        string text = c.GetProperty("text").GetString()!;
        bool hasTags = c.TryGetProperty("tags", out JsonElement tagsElement);
        string rest = hasTags ? c.GetProperty("rest").GetString()! : text;
        List<ExtraNetworkTag> expected = hasTags
            ? [.. tagsElement.EnumerateArray().Select(t => new ExtraNetworkTag(t[0].GetString()!, [.. t[1].EnumerateArray().Select(i => i.GetString()!)]))]
            : [];
        var got = ExtraNetworks.Extract(text);
        // A1111 groups the tags by kind (in order of each kind's first appearance); we keep prompt order.
        var grouped = got.Tags.GroupBy(t => t.Kind).SelectMany(g => g).ToList();
        return got.Prompt == rest && expected.SequenceEqual(grouped)
            ? null
            : $"got {JsonSerializer.Serialize(got.Prompt)} {string.Join(" ", grouped)}";
    });

    private static void CheckTexts(Func<JsonElement, string?> check)
    {
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in Cases("texts"))
        {
            count++;
            if (check(c) is { } failure) failures.Add($"{JsonSerializer.Serialize(c.GetProperty("text").GetString())}: {failure}");
        }
        Assert.True(count > 0);
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} differ:\n" + string.Join("\n", failures.Take(30)));
    }

    private static bool Throws(Action action)
    {
        try { action(); return false; }
        catch (InvalidInputException) { return true; }
    }
}
