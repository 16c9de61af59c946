using SdSharp.Text;

namespace SdSharp.Tests.Text.Tokenizer;

/// <summary>
/// Behaviour of <see cref="ClipTokenizer"/> built from OpenAI's merge list. Concrete ids come from OpenAI's
/// and HF's documentation or were read off HF's Rust tokenizers pipeline for CLIP (see ClipTokenizer's remarks).
/// </summary>
public class ClipTokenizerTests
{
    internal static readonly Lazy<ClipTokenizer> Shared = new(() => ClipTokenizer.FromMergeList(TestPaths.ClipMergeList));

    private static ClipTokenizer Tok => Shared.Value;

    private static string[] Texts(ClipTokenizer tok, IEnumerable<int> ids) => [.. ids.Select(tok.TokenText)];

    [Fact]
    public void Vocabulary_is_built_as_OpenAI_builds_it()
    {
        Assert.Equal(49408, Tok.VocabSize);
        Assert.Equal(49406, Tok.BosId);
        Assert.Equal(49407, Tok.EosId);
        Assert.Equal("<|startoftext|>", Tok.TokenText(49406));
        Assert.Equal("<|endoftext|>", Tok.TokenText(49407));
        // Bytes first in bytes_to_unicode order ('!' is byte 33, the first printable), then the same with </w>.
        Assert.Equal("!", Tok.TokenText(0));
        Assert.Equal("!</w>", Tok.TokenText(256));
        Assert.Equal("Ā", Tok.TokenText(188)); // byte 0 is the first non-printable byte: U+0100 after 188 printable ones
        Assert.Equal(267, Tok.GetId(",</w>"));
        Assert.Equal(269, Tok.GetId(".</w>"));
        Assert.Equal(320, Tok.GetId("a</w>"));
        Assert.False(Tok.TryGetId("not a token", out _));
        Assert.Throws<KeyNotFoundException>(() => Tok.GetId("not a token"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.TokenText(49408));
    }

    [Fact]
    public void Encodes_a_simple_prompt_with_BOS_and_EOS() =>
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407], Tok.Encode("a photo of a cat"));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t\n\u00A0\u3000\u2028")]
    public void Empty_or_blank_text_is_just_BOS_and_EOS(string text) => Assert.Equal([49406, 49407], Tok.Encode(text));

    [Fact]
    public void Case_and_whitespace_do_not_matter()
    {
        int[] expected = Tok.Encode("a photo of a cat");
        Assert.Equal(expected, Tok.Encode("A PHOTO Of a CaT"));
        Assert.Equal(expected, Tok.Encode("  a \t photo\nof\u00A0a\u3000cat  "));
    }

    [Fact]
    public void Punctuation_is_its_own_token() =>
        Assert.Equal([49406, 2368, 267, 1929, 269, 49407], Tok.Encode("cat, dog."));

    [Fact]
    public void Contractions_split_off_the_apostrophe_suffix()
    {
        Assert.Equal(["it</w>", "'s</w>"], Texts(Tok, Tok.EncodeWithoutSpecials("it's")));
        Assert.Equal(["we</w>", "'re</w>"], Texts(Tok, Tok.EncodeWithoutSpecials("We're")));
        // A punctuation run swallows the apostrophe: the contraction rule applies only where a piece starts.
        Assert.Equal(Tok.EncodeWithoutSpecials("!' s"), Tok.EncodeWithoutSpecials("!'s"));
    }

    [Fact]
    public void Every_digit_is_a_separate_word() =>
        Assert.Equal(["1</w>", "2</w>", "3</w>", "4</w>"], Texts(Tok, Tok.EncodeWithoutSpecials("1234")));

    [Fact]
    public void Punctuation_runs_stay_together() => Assert.Equal([49406, 995, 49407], Tok.Encode("!!!"));

    [Fact]
    public void Html_entities_are_not_unescaped_as_in_HF() =>
        Assert.Equal([49406, 261, 6259, 282, 49407], Tok.Encode("&amp;"));

    [Fact]
    public void Decomposed_accents_are_composed_first()
    {
        Assert.Equal(Tok.Encode("café"), Tok.Encode("cafe\u0301"));
        Assert.Equal(Tok.Encode("Å"), Tok.Encode("\u212B")); // ANGSTROM SIGN
    }

    [Fact]
    public void Lower_casing_is_per_character_as_in_Rust()
    {
        // İ lower-cases to i + combining dot above; a final capital sigma becomes σ, not ς.
        Assert.Equal([49406, 328, 16384, 49407], Tok.Encode("İ"));
        Assert.Equal(Tok.Encode("i\u0307"), Tok.Encode("İ"));
        Assert.Equal(Tok.Encode("οδοσ"), Tok.Encode("ΟΔΟΣ"));
        Assert.NotEqual(Tok.Encode("οδος"), Tok.Encode("ΟΔΟΣ"));
    }

    [Fact]
    public void Special_tokens_in_the_text_become_special_ids()
    {
        int[] a = Tok.EncodeWithoutSpecials("a"), b = Tok.EncodeWithoutSpecials("b");
        Assert.Equal([.. a, 49407, .. b], Tok.EncodeWithoutSpecials("a<|endoftext|>b"));
        Assert.Equal([49406, 49406, .. a, 49407], Tok.Encode("<|startoftext|>a"));
    }

    [Fact]
    public void A_special_token_in_another_case_is_ordinary_text()
    {
        Assert.Equal([49406, 27, 347, 40786, 4160, 91, 285, 49407], Tok.Encode("<|EndOfText|>"));
        // Its three pieces end where the literal ends: "|>" does not run on into the "!" after it.
        Assert.Equal([.. Tok.EncodeWithoutSpecials("<|EndOfText|>"), .. Tok.EncodeWithoutSpecials("!")],
            Tok.EncodeWithoutSpecials("<|EndOfText|>!"));
    }

    [Fact]
    public void Encode_neither_truncates_nor_pads()
    {
        string prompt = string.Join(", ", Enumerable.Range(0, 120).Select(i => "word" + (char)('a' + i % 26)));
        int[] ids = Tok.Encode(prompt);
        Assert.True(ids.Length > 200);
        Assert.Equal(49406, ids[0]);
        Assert.Equal(49407, ids[^1]);
        Assert.Equal(ids[1..^1], Tok.EncodeWithoutSpecials(prompt));
    }

    [Fact]
    public void EncodeToContext_pads_a_short_prompt_with_EOS()
    {
        int[] ids = Tok.EncodeToContext("a photo of a cat");
        Assert.Equal(ClipTokenizer.ContextLength, ids.Length);
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407], ids[..7]);
        Assert.All(ids[7..], id => Assert.Equal(49407, id));
    }

    [Fact]
    public void EncodeToContext_truncates_to_75_tokens_and_can_pad_with_zero()
    {
        string prompt = string.Join(" ", Enumerable.Repeat("cat", 100));
        int[] ids = Tok.EncodeToContext(prompt, padId: 0);
        Assert.Equal(77, ids.Length);
        Assert.Equal(49406, ids[0]);
        Assert.All(ids[1..76], id => Assert.Equal(2368, id));
        Assert.Equal(49407, ids[76]);

        int[] shortIds = Tok.EncodeToContext("cat", padId: 0);
        Assert.Equal([49406, 2368, 49407], shortIds[..3]);
        Assert.All(shortIds[3..], id => Assert.Equal(0, id));
    }

    [Fact]
    public void Decode_reads_word_ends_as_spaces()
    {
        Assert.Equal("a photo of a cat , 8 k ", Tok.Decode(Tok.EncodeWithoutSpecials("a photo of a cat, 8k")));
        Assert.Equal("café 😀 ", Tok.Decode(Tok.EncodeWithoutSpecials("Café😀")));
    }

    [Fact]
    public void Long_words_and_emoji_round_trip()
    {
        string word = string.Concat(Enumerable.Repeat("abracadabra", 300));
        Assert.Equal(word + " ", Tok.Decode(Tok.EncodeWithoutSpecials(word)));
        Assert.Equal("👨‍👩‍👧 🇯🇵 ", Tok.Decode(Tok.EncodeWithoutSpecials("👨‍👩‍👧 🇯🇵")));
    }

    [Fact]
    public void The_word_cache_stays_bounded()
    {
        var small = new ClipTokenizer(ClipVocabulary.FromMergeList(TestPaths.ClipMergeList), maxCachedWords: 10);
        for (int i = 0; i < 50; i++)
        {
            string word = "word" + (char)('a' + i % 26) + (char)('a' + i / 26);
            Assert.Equal(Tok.Encode(word), small.Encode(word));
            Assert.InRange(small.CachedWordCount, 1, 10);
        }
    }

    [Fact]
    public void Concurrent_use_gives_the_same_ids()
    {
        string[] prompts = [.. Enumerable.Range(0, 64).Select(i => $"prompt {i}, masterpiece, photo of a cat number {i * 37}, ärger, 東京")];
        var fresh = ClipTokenizer.FromMergeList(TestPaths.ClipMergeList);
        int[][] expected = [.. prompts.Select(fresh.Encode)];
        var actual = new int[prompts.Length][];
        Parallel.For(0, prompts.Length * 4, i => actual[i % prompts.Length] = Tok.Encode(prompts[i % prompts.Length]));
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(expected[i], actual[i]);
    }
}
