using System.Text.Json;
using SdSharp.Evaluation;
using SdSharp.Text;

namespace SdSharp.Tests.Adherence;

/// <summary>The bundled model's held-out prompts and its grammar-learned tokenizer, as tools/train writes them.</summary>
public class BundledModelDataTests
{
    private static HeldOutSet Set => HeldOutSet.Load(Path.Combine(TestPaths.RepoRoot, "tools", "train", "heldout.json"));

    [Fact]
    public void HeldOutSetIsLargeEnoughAndConsistent()
    {
        var set = Set;
        Assert.Equal(128, set.ImageSize);
        Assert.True(set.Prompts.Count >= 60);
        Assert.Equal(["red", "green", "blue", "yellow", "purple", "orange", "white", "black"], set.Palette.Select(c => c.Name));
        Assert.Equal(["circle", "square", "triangle"], set.Shapes);
        Assert.Equal(["in the center", "on the left", "on the right", "at the top", "at the bottom"], set.Positions.Select(p => p.Phrase));
        var palette = set.Palette.Select(c => c.Name).ToHashSet();
        var combinations = new HashSet<(string, string, string, string)>();
        foreach (var p in set.Prompts)
        {
            Assert.Contains(p.Color, palette);
            Assert.Contains(p.Background, palette);
            Assert.NotEqual(p.Color, p.Background);
            Assert.Contains(p.Shape, set.Shapes);
            Assert.Contains(p.Position, set.Positions.Select(q => q.Phrase));
            Assert.Equal($"a {p.Size} {p.Color} {p.Shape} {p.Position} on {(p.Background[0] is 'a' or 'e' or 'i' or 'o' or 'u' ? "an" : "a")} {p.Background} background", p.Prompt);
            Assert.True(combinations.Add((p.Color, p.Shape, p.Position, p.Background)), p.Prompt);
        }
        Assert.Equal(set.Prompts.Count, set.Prompts.Select(p => p.Seed).Distinct().Count());
        foreach (var name in palette) Assert.Contains(set.Prompts, p => p.Color == name);
        foreach (var name in palette) Assert.Contains(set.Prompts, p => p.Background == name);
    }

    [Fact]
    public void MissingFileIsAnInputError()
    {
        var e = Assert.Throws<InvalidInputException>(() => HeldOutSet.Load(Path.Combine(TestPaths.NewTempDirectory(), "none.json")));
        Assert.Contains("none.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GrammarTokenizerLoadsAndGivesThePythonIds()
    {
        var tokenizer = ClipTokenizer.FromFolder(TestPaths.Fixture("shapes-tokenizer"));
        Assert.Equal(596, tokenizer.VocabSize);
        Assert.Equal(tokenizer.VocabSize - 2, tokenizer.BosId);
        Assert.Equal(tokenizer.VocabSize - 1, tokenizer.EosId);
        using var document = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Fixture("shapes-tokenizer", "ids.json")));
        foreach (var entry in document.RootElement.GetProperty("texts").EnumerateArray())
        {
            string text = entry.GetProperty("text").GetString()!;
            int[] expected = entry.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            Assert.True(expected.SequenceEqual(tokenizer.EncodeToContext(text)), $"ids of \"{text}\"");
        }
    }

    [Fact]
    public void EveryCaptionWordIsOneToken()
    {
        var tokenizer = ClipTokenizer.FromFolder(TestPaths.Fixture("shapes-tokenizer"));
        foreach (var p in Set.Prompts)
            foreach (string word in p.Prompt.Split(' '))
                Assert.Single(tokenizer.EncodeWithoutSpecials(word));
    }
}
