using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SdSharp.Tests.Text.Tokenizer;
using SdSharp.Text;

namespace SdSharp.Tests.Text.Conditioning;

/// <summary>
/// A CLIP tokenizer for the tiny fixture encoders (vocabulary 1000, BOS 998, EOS 999): CLIP's first 998 tokens
/// (the 512 byte tokens and the first 486 merges) and the two specials. Words split into more pieces than with
/// the full vocabulary, but ids, the comma and BREAK behave as in the real one. Written once per test run as an
/// HF tokenizer folder from the shared merge list.
/// </summary>
internal static class TinyClipTokenizer
{
    public const int Merges = 1000 - 512 - 2;

    public static readonly Lazy<ClipTokenizer> Shared = new(Create);

    private static ClipTokenizer Create()
    {
        ClipTokenizer full = ClipTokenizerTests.Shared.Value;
        string dir = TestPaths.NewTempDirectory();
        using (var stream = File.Create(Path.Combine(dir, "vocab.json")))
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            for (int id = 0; id < 512 + Merges; id++) json.WriteNumber(full.TokenText(id), id);
            json.WriteNumber("<|startoftext|>", 998);
            json.WriteNumber("<|endoftext|>", 999);
            json.WriteEndObject();
        }
        using var gz = new GZipStream(File.OpenRead(TestPaths.ClipMergeList), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        var merges = new StringBuilder("#version: 0.2\n");
        reader.ReadLine();
        for (int i = 0; i < Merges; i++) merges.Append(reader.ReadLine()).Append('\n');
        File.WriteAllText(Path.Combine(dir, "merges.txt"), merges.ToString());
        try
        {
            return ClipTokenizer.FromFolder(dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
