using SdSharp.Tests.Text.Tokenizer;
using SdSharp.Text;
using SdSharp.Text.Conditioning;
using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Conditioning;

/// <summary>A1111's chunking (sd_hijack_clip.py tokenize_line) with the real CLIP vocabulary.</summary>
public sealed class PromptChunkerTests
{
    private static ClipTokenizer Tok => ClipTokenizerTests.Shared.Value;
    private static readonly PromptChunker Chunker = new(Tok);
    private static int Cat => Tok.GetId("cat</w>");
    private static int Dog => Tok.GetId("dog</w>");
    private static int Comma => Tok.GetId(",</w>");

    private static string Cats(int n) => string.Join(' ', Enumerable.Repeat("cat", n));

    private static ChunkedPrompt Chunk(string prompt, PromptChunker? chunker = null) =>
        (chunker ?? Chunker).Chunk(EmphasisParser.Parse(prompt));

    /// <summary>The prompt tokens of a chunk, after checking its frame: BOS, the tokens, EOS padding, EOS.</summary>
    private static int[] Content(PromptChunk chunk)
    {
        Assert.Equal(PromptChunk.Length, chunk.Tokens.Count);
        Assert.Equal(PromptChunk.Length, chunk.Weights.Count);
        Assert.Equal(Tok.BosId, chunk.Tokens[0]);
        Assert.All(chunk.Tokens.Skip(1 + chunk.PromptTokens), t => Assert.Equal(Tok.EosId, t));
        Assert.Equal(1f, chunk.Weights[0]);
        Assert.All(chunk.Weights.Skip(1 + chunk.PromptTokens), w => Assert.Equal(1f, w));
        return [.. chunk.Tokens.Skip(1).Take(chunk.PromptTokens)];
    }

    [Fact]
    public void Exactly_75_tokens_are_one_chunk()
    {
        var result = Chunk(Cats(75));
        Assert.Single(result.Chunks);
        Assert.Equal(Enumerable.Repeat(Cat, 75), Content(result.Chunks[0]));
        Assert.Equal(75, result.TokenCount);
    }

    [Fact]
    public void The_76th_token_opens_a_second_chunk()
    {
        var result = Chunk(Cats(76));
        Assert.Equal(2, result.Chunks.Count);
        Assert.Equal(75, Content(result.Chunks[0]).Length);
        Assert.Equal([Cat], Content(result.Chunks[1]));
        Assert.Equal(76, result.TokenCount);
    }

    [Fact]
    public void Long_prompts_fill_chunks_of_75()
    {
        var result = Chunk(Cats(200));
        Assert.Equal([75, 75, 50], result.Chunks.Select(c => c.PromptTokens));
        Assert.Equal(200, result.TokenCount);
    }

    [Fact]
    public void The_empty_prompt_is_one_chunk_of_BOS_and_EOS()
    {
        var result = Chunk("");
        var chunk = Assert.Single(result.Chunks);
        Assert.Empty(Content(chunk));
        Assert.Equal(0, result.TokenCount);
        Assert.Equal(Chunker.EmptyChunk().Tokens, chunk.Tokens);
    }

    [Theory]
    [InlineData(70, 5)]    // comma 5 tokens from the end of the full chunk: the phrase after it moves
    [InlineData(55, 20)]   // exactly comma_padding_backtrack away: still moves
    public void A_near_comma_moves_the_rest_of_its_phrase_to_the_next_chunk(int before, int distance)
    {
        // cat×before, ",", then enough cats to run 5 past the end of the first chunk.
        int after = 80 - before;
        var result = Chunk(Cats(before) + ", " + Cats(after));
        Assert.Equal(2, result.Chunks.Count);
        Assert.Equal([.. Enumerable.Repeat(Cat, before), Comma], Content(result.Chunks[0]));
        Assert.Equal(Enumerable.Repeat(Cat, after), Content(result.Chunks[1]));
        Assert.Equal(75 + after, result.TokenCount);
        Assert.Equal(75 - before, distance);
    }

    [Fact]
    public void A_far_comma_or_a_disabled_backtrack_splits_at_75()
    {
        var far = Chunk(Cats(54) + ", " + Cats(30));   // 21 from the end
        Assert.Equal([75, 10], far.Chunks.Select(c => c.PromptTokens));
        var off = Chunk(Cats(70) + ", " + Cats(10), new PromptChunker(Tok, commaPaddingBacktrack: 0));
        Assert.Equal([75, 6], off.Chunks.Select(c => c.PromptTokens));
    }

    [Fact]
    public void A_comma_ending_a_full_chunk_moves_nothing()
    {
        var result = Chunk(Cats(74) + ", cat");
        Assert.Equal([.. Enumerable.Repeat(Cat, 74), Comma], Content(result.Chunks[0]));
        Assert.Equal([Cat], Content(result.Chunks[1]));
    }

    [Fact]
    public void The_phrase_moved_by_a_comma_keeps_its_weights()
    {
        var result = Chunk(Cats(72) + ", (" + Cats(5) + ":1.5)");
        Assert.Equal([73, 5], result.Chunks.Select(c => c.PromptTokens));
        Assert.All(result.Chunks[1].Weights.Skip(1).Take(5), w => Assert.Equal(1.5f, w));
        Assert.Equal(1f, result.Chunks[0].Weights[73]);
    }

    [Fact]
    public void BREAK_closes_the_chunk_even_when_empty()
    {
        var two = Chunk("cat BREAK dog");
        Assert.Equal([[Cat], [Dog]], two.Chunks.Select(Content));
        Assert.Equal(75 + 1, two.TokenCount);

        var leading = Chunk("BREAK cat");
        Assert.Equal([[], [Cat]], leading.Chunks.Select(Content));

        var doubled = Chunk("cat BREAK BREAK dog");
        Assert.Equal([[Cat], [], [Dog]], doubled.Chunks.Select(Content));

        // A full chunk is still open when BREAK comes: BREAK closes it, no empty chunk follows.
        var full = Chunk(Cats(75) + " BREAK dog");
        Assert.Equal([75, 1], full.Chunks.Select(c => c.PromptTokens));

        // Only the marker breaks: "BREAKfast" and a lower-case "break" are words.
        Assert.Single(Chunk("cat break dog").Chunks);
        Assert.Single(Chunk("BREAKfast").Chunks);
    }

    [Fact]
    public void Each_fragment_is_tokenized_alone_and_weighted()
    {
        var chunk = Assert.Single(Chunk("a (cat:1.5) [dog]").Chunks);
        // "a " and "cat" are tokenized apart: the space before "(" does not join them.
        Assert.Equal([Tok.GetId("a</w>"), Cat, Dog], Content(chunk));
        Assert.Equal([1f, 1f, 1.5f, (float)(1 / 1.1), 1f], chunk.Weights.Take(5));
    }

    [Fact]
    public void Empty_chunk_is_BOS_then_76_EOS()
    {
        PromptChunk empty = Chunker.EmptyChunk();
        Assert.Equal([Tok.BosId, .. Enumerable.Repeat(Tok.EosId, 76)], empty.Tokens);
        Assert.All(empty.Weights, w => Assert.Equal(1f, w));
    }
}
