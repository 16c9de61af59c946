using System.Collections.Concurrent;
using System.Text;

namespace SdSharp.Text;

/// <summary>
/// The CLIP byte-level BPE tokenizer of Stable Diffusion 1.x, 2.x and SDXL, giving the ids that
/// Hugging Face transformers' <c>CLIPTokenizer</c> (transformers 5, no ftfy) gives:
/// raw-text special tokens → NFC → lower case → CLIP's pre-tokenisation → byte-level BPE with "&lt;/w&gt;".
/// Thread-safe; the BPE of each distinct word is cached.
/// </summary>
/// <remarks>
/// Checked id for id against HF's Rust pipeline for CLIP (NFC, \s+ → " ", Lowercase; Split on CLIP's pattern,
/// ByteLevel; BPE with "&lt;/w&gt;") on the fixture corpus and on ~240,000 generated strings. Known differences:
/// <list type="bullet">
/// <item>OpenAI's <c>simple_tokenizer.py</c> runs <c>ftfy.fix_text</c> (curly quotes → straight, full-width →
/// ASCII, ligatures split, mojibake repaired, control characters dropped) and unescapes HTML twice; HF does
/// none of it, so "it’s", "ｃａｔ", "ﬁsh", "&amp;amp;" tokenize differently. A1111 runs transformers 4's Python
/// CLIPTokenizer, which applies ftfy when it is installed (open_clip pulls it in), and otherwise puts spaces
/// around CJK ideographs and drops control characters; transformers 5 has only the Rust pipeline.</item>
/// <item>OpenAI matches special-token text in any case (its pattern is case-insensitive); HF matches the exact
/// text in the raw prompt, so "&lt;|EndOfText|&gt;" becomes "&lt;|", "endoftext", "|&gt;". (A tokenizer folder whose
/// config marks the specials <c>normalized</c> would match them after lower-casing; the fixture does not.)</item>
/// <item>Python lower-cases a final Σ to ς; HF lower-cases each character alone (σ), as we do.</item>
/// <item>Unicode data: character classes and lower case come from .NET 10 (Unicode 16), NFC from our tables
/// (tools/unicode, Unicode 15.1). HF's build knows Unicode 17 case pairs that .NET does not (U+A7CE, U+A7D2,
/// U+A7D4, U+16EA0–U+16EB8); text with those letters tokenizes differently.</item>
/// </list>
/// </remarks>
public sealed class ClipTokenizer
{
    /// <summary>Tokens in one CLIP text-encoder pass, BOS and EOS included.</summary>
    public const int ContextLength = 77;

    /// <summary>Bound on cached words; the cache is emptied when it is reached (a prompt has a few hundred).</summary>
    internal const int DefaultMaxCachedWords = 100_000;

    private readonly ClipVocabulary _vocab;
    private readonly BpeWordMerger _merger;
    private readonly ConcurrentDictionary<string, int[]> _wordCache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _wordLookup;
    private readonly int _maxCachedWords;
    private int _cachedWords;

    [ThreadStatic] private static char[]? t_textBuffer;

    internal ClipTokenizer(ClipVocabulary vocab, int maxCachedWords = DefaultMaxCachedWords)
    {
        _vocab = vocab;
        _maxCachedWords = maxCachedWords;
        _merger = new BpeWordMerger(vocab.Merges);
        _wordLookup = _wordCache.GetAlternateLookup<ReadOnlySpan<char>>();
        BosId = vocab.Ids[ClipVocabulary.StartOfText];
        EosId = vocab.Ids[ClipVocabulary.EndOfText];
    }

    /// <summary>From OpenAI's gzip merge list (<c>bpe_simple_vocab_16e6.txt.gz</c>), building the vocabulary as OpenAI does.</summary>
    public static ClipTokenizer FromMergeList(string path) => new(ClipVocabulary.FromMergeList(path));

    /// <summary>Whether a folder holds a Hugging Face tokenizer (<c>vocab.json</c> + <c>merges.txt</c>, or <c>tokenizer.json</c>).</summary>
    public static bool IsFolder(string dir) => ClipVocabulary.IsFolder(dir);

    /// <summary>From a Hugging Face tokenizer folder (<c>vocab.json</c> + <c>merges.txt</c>, or <c>tokenizer.json</c>), e.g. a diffusers model's <c>tokenizer/</c>.</summary>
    public static ClipTokenizer FromFolder(string dir) => new(ClipVocabulary.FromFolder(dir));

    /// <summary>&lt;|startoftext|&gt; (49406 in CLIP's vocabulary).</summary>
    public int BosId { get; }

    /// <summary>&lt;|endoftext|&gt; (49407), also SD1's padding token.</summary>
    public int EosId { get; }

    public int VocabSize => _vocab.Tokens.Length;

    internal int CachedWordCount => _wordCache.Count;

    /// <summary>The vocabulary text of a token id, e.g. ",&lt;/w&gt;" for 267 (bytes shown in the byte-level alphabet).</summary>
    public string TokenText(int id) =>
        (uint)id < (uint)_vocab.Tokens.Length ? _vocab.Tokens[id] : throw new ArgumentOutOfRangeException(nameof(id), id, "not a token id");

    /// <summary>The id of a vocabulary text such as ",&lt;/w&gt;".</summary>
    public bool TryGetId(string tokenText, out int id) => _vocab.Ids.TryGetValue(tokenText, out id);

    /// <summary>The id of a vocabulary text; throws if the vocabulary lacks it.</summary>
    public int GetId(string tokenText) =>
        TryGetId(tokenText, out int id) ? id : throw new KeyNotFoundException($"the CLIP vocabulary has no token \"{tokenText}\"");

    /// <summary>Token ids of <paramref name="text"/> with BOS and EOS, neither truncated nor padded
    /// (HF's <c>tokenizer(text).input_ids</c>).</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 2) { BosId };
        EncodeWithoutSpecials(text, ids);
        ids.Add(EosId);
        return [.. ids];
    }

    /// <summary>Token ids of <paramref name="text"/> without BOS/EOS or truncation, as A1111 tokenizes each weighted fragment.</summary>
    public int[] EncodeWithoutSpecials(string text)
    {
        var ids = new List<int>(text.Length / 3 + 1);
        EncodeWithoutSpecials(text, ids);
        return [.. ids];
    }

    /// <summary>Appends the token ids of <paramref name="text"/> (no BOS/EOS, no truncation) to <paramref name="ids"/>.</summary>
    public void EncodeWithoutSpecials(ReadOnlySpan<char> text, List<int> ids)
    {
        // Special tokens are cut out of the raw text first (exact text, as HF's added tokens are);
        // the text between them is normalized and tokenized on its own.
        while (true)
        {
            int at = IndexOfSpecial(text, out int specialId, out int specialLength);
            if (at < 0) break;
            EncodeOrdinaryText(text[..at], ids);
            ids.Add(specialId);
            text = text[(at + specialLength)..];
        }
        EncodeOrdinaryText(text, ids);
    }

    /// <summary>One text-encoder context: BOS, at most <paramref name="contextLength"/> − 2 tokens, EOS, then
    /// padding with <paramref name="padId"/> (default EOS, as SD1 and HF pad; OpenCLIP pads with 0).</summary>
    public int[] EncodeToContext(string text, int contextLength = ContextLength, int? padId = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        var content = new List<int>();
        EncodeWithoutSpecials(text, content);
        int kept = Math.Min(content.Count, contextLength - 2);
        var ids = new int[contextLength];
        Array.Fill(ids, padId ?? EosId);
        ids[0] = BosId;
        content.CopyTo(0, ids, 1, kept);
        ids[kept + 1] = EosId;
        return ids;
    }

    /// <summary>Text of token ids as OpenAI decodes it: bytes joined, "&lt;/w&gt;" read as a space, invalid UTF-8 as U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
            foreach (char c in TokenText(id))
                bytes.Add(ByteLevelAlphabet.ByteOf(c) is int b and >= 0 ? (byte)b : (byte)'?');
        return Encoding.UTF8.GetString([.. bytes]).Replace(ClipVocabulary.EndOfWord, " ");
    }

    private int IndexOfSpecial(ReadOnlySpan<char> text, out int id, out int length)
    {
        for (int from = 0; ;)
        {
            int at = text[from..].IndexOf("<|", StringComparison.Ordinal);
            if (at < 0) break;
            at += from;
            var rest = text[at..];
            if (rest.StartsWith(ClipVocabulary.StartOfText, StringComparison.Ordinal))
            {
                (id, length) = (BosId, ClipVocabulary.StartOfText.Length);
                return at;
            }
            if (rest.StartsWith(ClipVocabulary.EndOfText, StringComparison.Ordinal))
            {
                (id, length) = (EosId, ClipVocabulary.EndOfText.Length);
                return at;
            }
            from = at + 1;
        }
        (id, length) = (-1, 0);
        return -1;
    }

    private void EncodeOrdinaryText(ReadOnlySpan<char> raw, List<int> ids)
    {
        if (raw.IsEmpty) return;
        char[] buffer = t_textBuffer ??= new char[256];
        int length = ClipTextNormalizer.Normalize(raw, ref buffer);
        t_textBuffer = buffer;

        var text = buffer.AsSpan(0, length);
        var reader = new ClipPieceReader(text);
        while (reader.TryRead(out int start, out int pieceLength))
            ids.AddRange(WordIds(text.Slice(start, pieceLength)));
    }

    /// <summary>BPE ids of one pre-tokenised piece, from the cache when it has been seen.</summary>
    private int[] WordIds(ReadOnlySpan<char> word)
    {
        if (_wordLookup.TryGetValue(word, out int[]? cached)) return cached;
        int[] ids = MergeWord(word);
        if (Interlocked.Increment(ref _cachedWords) > _maxCachedWords)
        {
            _wordCache.Clear();
            Interlocked.Exchange(ref _cachedWords, 1); // the word added below
        }
        _wordLookup.TryAdd(word, ids);
        return ids;
    }

    private int[] MergeWord(ReadOnlySpan<char> word)
    {
        int byteCount = Encoding.UTF8.GetByteCount(word);
        Span<byte> utf8 = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        Encoding.UTF8.GetBytes(word, utf8);

        // Each byte starts as its own symbol; the word's last byte carries the end-of-word mark.
        Span<int> symbols = byteCount <= 512 ? stackalloc int[byteCount] : new int[byteCount];
        for (int i = 0; i < byteCount; i++) symbols[i] = _vocab.ByteIds[utf8[i]];
        symbols[^1] = _vocab.ByteEndIds[utf8[^1]];

        int length = _merger.Merge(symbols);
        return symbols[..length].ToArray();
    }
}
