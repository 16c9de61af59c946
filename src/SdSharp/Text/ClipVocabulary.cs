using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SdSharp.IO;

namespace SdSharp.Text;

/// <summary>
/// The CLIP BPE vocabulary: token texts by id, ids by text, and the ranked merges. Built either the way
/// OpenAI builds it from its merge list, or read from a Hugging Face tokenizer folder.
/// </summary>
internal sealed class ClipVocabulary
{
    public const string EndOfWord = "</w>";
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";

    /// <summary>OpenAI keeps the first 49152 - 256 - 2 merges of its list: the vocabulary is 49408 tokens
    /// (256 bytes, the same with "&lt;/w&gt;", the merges, two specials), ids 0..49407.</summary>
    public const int OpenAiMergeCount = 49152 - 256 - 2;

    public string[] Tokens { get; }
    public Dictionary<string, int> Ids { get; }

    /// <summary>(left id, right id) → rank and id of the joined token.</summary>
    public Dictionary<long, BpeMerge> Merges { get; }

    /// <summary>Token id of each byte inside a word, and at the end of a word (with "&lt;/w&gt;").</summary>
    public int[] ByteIds { get; } = new int[256];
    public int[] ByteEndIds { get; } = new int[256];

    private ClipVocabulary(string[] tokens, Dictionary<string, int> ids, IReadOnlyList<(string Left, string Right)> merges, string source)
    {
        Tokens = tokens;
        Ids = ids;
        for (int b = 0; b < 256; b++)
        {
            string c = ByteLevelAlphabet.CharOf((byte)b).ToString();
            ByteIds[b] = Require(c, source);
            ByteEndIds[b] = Require(c + EndOfWord, source);
        }
        var table = new Dictionary<long, BpeMerge>(merges.Count, BpeMerge.KeyComparer.Instance);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            long key = BpeMerge.Key(Require(left, source), Require(right, source));
            // A repeated pair takes its last rank, as Python's dict(zip(merges, ranks)) and HF's merge map do.
            table[key] = new BpeMerge(rank, Require(left + right, source));
        }
        Merges = table;
        Require(StartOfText, source);
        Require(EndOfText, source);
    }

    private int Require(string token, string source) =>
        Ids.TryGetValue(token, out int id) ? id
            : throw new ModelFormatException($"{source}: the CLIP vocabulary has no token \"{token}\"");

    /// <summary>OpenAI's gzip merge list (bpe_simple_vocab_16e6.txt.gz): line 0 is a header, the next
    /// 48894 lines are merges; the vocabulary follows from them.</summary>
    public static ClipVocabulary FromMergeList(string path)
    {
        // Only the header and the merges OpenAI keeps are read; the file has 262,145 lines.
        var merges = new List<(string, string)>(OpenAiMergeCount);
        try
        {
            using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var reader = new StreamReader(gz, new UTF8Encoding(false, true));
            reader.ReadLine();
            for (int i = 1; i <= OpenAiMergeCount; i++)
            {
                string line = reader.ReadLine()
                    ?? throw new ModelFormatException($"{path}: {i} lines, a CLIP merge list needs at least {OpenAiMergeCount + 1}");
                merges.Add(ParseMerge(line, path, i + 1));
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or DecoderFallbackException)
        {
            throw new ModelFormatException($"{path}: not a readable gzip CLIP merge list ({e.Message})", e);
        }

        var tokens = new List<string>(2 * 256 + merges.Count + 2);
        foreach (char c in ByteLevelAlphabet.CharsInVocabOrder) tokens.Add(c.ToString());
        foreach (char c in ByteLevelAlphabet.CharsInVocabOrder) tokens.Add(c + EndOfWord);
        foreach (var (left, right) in merges) tokens.Add(left + right);
        tokens.Add(StartOfText);
        tokens.Add(EndOfText);

        var ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Count; id++)
            if (!ids.TryAdd(tokens[id], id))
                throw new ModelFormatException($"{path}: the merges give the token \"{tokens[id]}\" twice");
        return new ClipVocabulary([.. tokens], ids, merges, path);
    }

    /// <summary>
    /// A Hugging Face tokenizer folder: vocab.json (token → id) and merges.txt (ranked pairs), or, where only that
    /// was saved (recent transformers), tokenizer.json holding both.
    /// </summary>
    public static ClipVocabulary FromFolder(string dir)
    {
        string vocabPath = Path.Combine(dir, "vocab.json"), mergesPath = Path.Combine(dir, "merges.txt"), combined = Path.Combine(dir, TokenizerJson);
        if (!File.Exists(vocabPath) && !File.Exists(mergesPath) && File.Exists(combined)) return FromTokenizerJson(combined, dir);
        foreach (string p in new[] { vocabPath, mergesPath })
            if (!File.Exists(p)) throw new InvalidInputException($"{dir}: not a CLIP tokenizer folder ({Path.GetFileName(p)} is missing)");

        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(mergesPath, Encoding.UTF8))
        {
            lineNumber++;
            if (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)) continue;
            if (line.Length == 0) continue;
            merges.Add(ParseMerge(line, mergesPath, lineNumber));
        }
        return FromIds(ReadVocabJson(vocabPath), merges, vocabPath, dir);
    }

    public const string TokenizerJson = "tokenizer.json";

    /// <summary>Whether <paramref name="dir"/> holds a tokenizer in either of the forms <see cref="FromFolder"/> reads.</summary>
    public static bool IsFolder(string dir) =>
        File.Exists(Path.Combine(dir, "vocab.json")) || File.Exists(Path.Combine(dir, TokenizerJson));

    private static ClipVocabulary FromIds(Dictionary<string, int> ids, List<(string, string)> merges, string vocabSource, string dir)
    {
        var tokens = new string[ids.Count];
        foreach (var (token, id) in ids)
        {
            if ((uint)id >= (uint)tokens.Length || tokens[id] != null)
                throw new ModelFormatException($"{vocabSource}: ids must be 0..{tokens.Length - 1}, each once (\"{token}\" has {id})");
            tokens[id] = token;
        }
        return new ClipVocabulary(tokens, ids, merges, dir);
    }

    /// <summary>tokenizer.json: model.vocab (token → id), model.merges ("a b" strings or [a, b] pairs), and added_tokens.</summary>
    private static ClipVocabulary FromTokenizerJson(string path, string dir)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var merges = new List<(string, string)>();
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            var model = json.RootElement.GetProperty("model");
            if (model.TryGetProperty("type", out var type) && type.GetString() != "BPE")
                throw new JsonException($"the tokenizer model is {type.GetString()}, not BPE");
            foreach (var entry in model.GetProperty("vocab").EnumerateObject())
                if (!ids.TryAdd(entry.Name, entry.Value.GetInt32())) throw new JsonException($"\"{entry.Name}\" appears twice");
            int index = 0;
            foreach (var merge in model.GetProperty("merges").EnumerateArray())
            {
                index++;
                if (merge.ValueKind == JsonValueKind.String) merges.Add(ParseMerge(merge.GetString()!, path, index));
                else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2) merges.Add((merge[0].GetString()!, merge[1].GetString()!));
                else throw new JsonException($"merge {index} is neither \"a b\" nor [a, b]");
            }
            // The special tokens may be listed only among the added tokens.
            if (json.RootElement.TryGetProperty("added_tokens", out var added))
                foreach (var token in added.EnumerateArray())
                    ids.TryAdd(token.GetProperty("content").GetString()!, token.GetProperty("id").GetInt32());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new ModelFormatException($"{path}: not a BPE tokenizer.json ({e.Message})", e);
        }
        return FromIds(ids, merges, path, dir);
    }

    /// <summary>vocab.json is one flat object of token → id; read without reflection (the library is trimmable).</summary>
    private static Dictionary<string, int> ReadVocabJson(string path)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(File.ReadAllBytes(path));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("expected an object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string token = reader.GetString()!;
                if (!reader.Read() || !reader.TryGetInt32(out int id)) throw new JsonException($"\"{token}\" has no integer id");
                if (!ids.TryAdd(token, id)) throw new JsonException($"\"{token}\" appears twice");
            }
            if (reader.TokenType != JsonTokenType.EndObject) throw new JsonException("expected only token → id pairs");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelFormatException($"{path}: not a token → id JSON object ({e.Message})", e);
        }
        return ids;
    }

    private static (string, string) ParseMerge(string line, string path, int lineNumber)
    {
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2 ? (parts[0], parts[1])
            : throw new ModelFormatException($"{path}:{lineNumber}: a merge is two tokens separated by a space, got \"{line}\"");
    }
}

/// <summary>One BPE merge: its priority (lower merges first) and the id of the token it makes.</summary>
internal readonly record struct BpeMerge(int Rank, int Id)
{
    public static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>long's own hash is high ^ low, which makes (a, b) and (b, a) and many more pairs collide;
    /// a multiplicative hash spreads the pairs.</summary>
    public sealed class KeyComparer : IEqualityComparer<long>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
    }
}
