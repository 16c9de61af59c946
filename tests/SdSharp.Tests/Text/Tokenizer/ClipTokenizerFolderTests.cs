using System.Text;
using System.Text.Json;
using SdSharp.IO;
using SdSharp.Text;

namespace SdSharp.Tests.Text.Tokenizer;

/// <summary>Loading a Hugging Face tokenizer folder (vocab.json + merges.txt) and rejecting broken ones.
/// The folder is written at test time from the shared merge list; no copy of it is kept in the repository.</summary>
public class ClipTokenizerFolderTests
{
    /// <summary>Writes vocab.json and merges.txt as HF's CLIP folders have them, into a new temp folder.</summary>
    internal static string WriteHfFolder()
    {
        var tok = ClipTokenizerTests.Shared.Value;
        string dir = TestPaths.NewTempDirectory();
        using (var stream = File.Create(Path.Combine(dir, "vocab.json")))
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            for (int id = 0; id < tok.VocabSize; id++) json.WriteNumber(tok.TokenText(id), id);
            json.WriteEndObject();
        }
        using var gz = new System.IO.Compression.GZipStream(File.OpenRead(TestPaths.ClipMergeList), System.IO.Compression.CompressionMode.Decompress);
        string[] lines = new StreamReader(gz, Encoding.UTF8).ReadToEnd().Split('\n');
        var merges = new StringBuilder("#version: 0.2\n");
        for (int i = 1; i <= 49152 - 256 - 2; i++) merges.Append(lines[i]).Append('\n');
        File.WriteAllText(Path.Combine(dir, "merges.txt"), merges.ToString());
        return dir;
    }

    [Fact]
    public void Folder_and_merge_list_build_the_same_vocabulary()
    {
        string dir = WriteHfFolder();
        try
        {
            var a = ClipTokenizerTests.Shared.Value;
            var b = ClipTokenizer.FromFolder(dir);
            Assert.Equal(a.VocabSize, b.VocabSize);
            Assert.Equal((a.BosId, a.EosId), (b.BosId, b.EosId));
            Assert.Equal(267, b.GetId(",</w>"));
            Assert.Equal(a.Encode("a photo of a cat, masterpiece"), b.Encode("a photo of a cat, masterpiece"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// tokenizer.json as recent transformers saves it alone: model.vocab and model.merges, the merges as "a b"
    /// strings or as [a, b] pairs (tokenizers ≥ 0.20), the special tokens possibly only among added_tokens.
    /// </summary>
    private static string WriteTokenizerJson(bool pairs)
    {
        var tok = ClipTokenizerTests.Shared.Value;
        string source = WriteHfFolder();
        string dir = TestPaths.NewTempDirectory();
        try
        {
            string[] merges = [.. File.ReadAllLines(Path.Combine(source, "merges.txt")).Skip(1).Where(l => l.Length > 0)];
            using var stream = File.Create(Path.Combine(dir, "tokenizer.json"));
            using var json = new Utf8JsonWriter(stream);
            json.WriteStartObject();
            json.WriteStartArray("added_tokens");
            foreach (int id in new[] { tok.BosId, tok.EosId })
            {
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("content", tok.TokenText(id));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteStartObject("vocab");
            for (int id = 0; id < tok.VocabSize; id++)
                if (id != tok.BosId && id != tok.EosId) json.WriteNumber(tok.TokenText(id), id);
            json.WriteEndObject();
            json.WriteStartArray("merges");
            foreach (string merge in merges)
            {
                if (!pairs)
                {
                    json.WriteStringValue(merge);
                    continue;
                }
                json.WriteStartArray();
                foreach (string part in merge.Split(' ')) json.WriteStringValue(part);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
        return dir;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_folder_with_only_tokenizer_json_builds_the_same_vocabulary(bool pairs)
    {
        string dir = WriteTokenizerJson(pairs);
        try
        {
            var a = ClipTokenizerTests.Shared.Value;
            Assert.True(ClipTokenizer.IsFolder(dir));
            var b = ClipTokenizer.FromFolder(dir);
            Assert.Equal(a.VocabSize, b.VocabSize);
            Assert.Equal((a.BosId, a.EosId), (b.BosId, b.EosId));
            Assert.Equal(a.Encode("a photo of a cat, masterpiece, (detailed:1.2)"), b.Encode("a photo of a cat, masterpiece, (detailed:1.2)"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_tokenizer_json_of_another_model_type_is_a_model_format_error()
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
            var e = Assert.Throws<ModelFormatException>(() => ClipTokenizer.FromFolder(dir));
            Assert.Contains("WordPiece", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_folder_without_merges_is_refused_by_name()
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "{}");
            var e = Assert.Throws<InvalidInputException>(() => ClipTokenizer.FromFolder(dir));
            Assert.Contains("merges.txt", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("[1, 2]", "#version: 0.2\n")]
    [InlineData("{\"a\": \"x\"}", "#version: 0.2\n")]
    [InlineData("{\"a\": 0, \"b\": 5}", "#version: 0.2\n")]
    public void A_broken_vocab_is_a_model_format_error(string vocab, string merges)
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), vocab);
            File.WriteAllText(Path.Combine(dir, "merges.txt"), merges);
            var e = Assert.Throws<ModelFormatException>(() => ClipTokenizer.FromFolder(dir));
            Assert.Contains("vocab.json", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_merge_of_unknown_tokens_is_a_model_format_error()
    {
        string dir = WriteHfFolder();
        try
        {
            File.AppendAllText(Path.Combine(dir, "merges.txt"), "snow☃ comet☄\n");
            var e = Assert.Throws<ModelFormatException>(() => ClipTokenizer.FromFolder(dir));
            Assert.Contains("snow☃", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_truncated_merge_list_is_a_model_format_error()
    {
        string dir = TestPaths.NewTempDirectory();
        try
        {
            string path = Path.Combine(dir, "short.txt.gz");
            using (var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
                gz.Write("#version: 0.2\ni n\n"u8);
            Assert.Throws<ModelFormatException>(() => ClipTokenizer.FromMergeList(path));
            File.WriteAllText(path, "not gzip");
            Assert.Throws<ModelFormatException>(() => ClipTokenizer.FromMergeList(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
