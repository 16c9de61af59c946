using System.Text.Json;
using SdSharp.Text;

namespace SdSharp.Tests.Text.Tokenizer;

/// <summary>
/// Every prompt of tests/fixtures/clip/tokenizer_corpus.json (made by tools/reference/make_tokenizer_fixture.py
/// with HF transformers' CLIPTokenizer) must give exactly HF's ids: BOS, content, EOS, untruncated.
/// </summary>
public class ClipTokenizerCorpusTests
{
    private sealed record Case(string Text, int[] Ids);

    private static readonly Lazy<(string Version, Case[] Cases)> Corpus = new(Load);

    private static (string, Case[]) Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Fixture("clip", "tokenizer_corpus.json")));
        var root = doc.RootElement;
        var cases = root.GetProperty("cases").EnumerateArray()
            .Select(c => new Case(c.GetProperty("text").GetString()!, [.. c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())]))
            .ToArray();
        return (root.GetProperty("transformers_version").GetString()!, cases);
    }

    [Fact]
    public void Corpus_is_the_expected_reference()
    {
        var (version, cases) = Corpus.Value;
        Assert.StartsWith("5.", version);
        Assert.True(cases.Length >= 300, $"only {cases.Length} cases");
        Assert.Contains(cases, c => c.Ids.Length > 200);
    }

    [Fact]
    public void Every_case_matches_HF_exactly()
    {
        var tok = ClipTokenizerTests.Shared.Value;
        var failures = new List<string>();
        foreach (var c in Corpus.Value.Cases)
        {
            int[] ids = tok.Encode(c.Text);
            if (!ids.AsSpan().SequenceEqual(c.Ids))
                failures.Add($"{JsonSerializer.Serialize(c.Text)}\n  HF:   [{string.Join(", ", c.Ids)}]\n  ours: [{string.Join(", ", ids)}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {Corpus.Value.Cases.Length} differ:\n" + string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void A_tokenizer_folder_gives_the_same_ids()
    {
        string dir = ClipTokenizerFolderTests.WriteHfFolder();
        try
        {
            var fromFolder = ClipTokenizer.FromFolder(dir);
            foreach (var c in Corpus.Value.Cases) Assert.Equal(c.Ids, fromFolder.Encode(c.Text));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
