using SdSharp.Addons.Embeddings;
using SdSharp.Text.Prompts;

namespace SdSharp.Text.Conditioning;

/// <summary>
/// A1111's <c>tokenize_line</c>: tokenizes each emphasis fragment on its own and packs the tokens into 75-token
/// chunks, each wrapped to 77 with BOS and EOS. A chunk is closed when a token arrives and it is full, when BREAK
/// comes (even if it is empty), and at the end. Comma back-tracking: when a full chunk meets its next token and
/// the chunk's last comma is at most <c>comma_padding_backtrack</c> tokens from its end, the tokens after that
/// comma move to the next chunk, so the comma-separated phrase is not split.
/// </summary>
public sealed class PromptChunker
{
    private readonly ClipTokenizer _tokenizer;
    private readonly int _comma;
    private readonly int _backtrack;
    private readonly EmbeddingDatabase _embeddings;

    /// <param name="commaPaddingBacktrack">A1111's <c>comma_padding_backtrack</c> (default 20; 0 turns it off).</param>
    /// <param name="embeddings">Textual-inversion embeddings found by name in the prompt.</param>
    public PromptChunker(ClipTokenizer tokenizer, int commaPaddingBacktrack = 20, EmbeddingDatabase? embeddings = null)
    {
        _embeddings = embeddings ?? EmbeddingDatabase.Empty;
        ArgumentOutOfRangeException.ThrowIfNegative(commaPaddingBacktrack);
        _tokenizer = tokenizer;
        _comma = tokenizer.TryGetId(",</w>", out int comma) ? comma : -1;
        _backtrack = commaPaddingBacktrack;
    }

    public ClipTokenizer Tokenizer => _tokenizer;

    public PromptChunk EmptyChunk() => PromptChunk.Empty(_tokenizer.BosId, _tokenizer.EosId);

    public ChunkedPrompt Chunk(IReadOnlyList<PromptFragment> fragments)
    {
        var chunks = new List<PromptChunk>();
        var tokens = new List<int>(PromptChunk.Capacity);
        var weights = new List<float>(PromptChunk.Capacity);
        var fixes = new List<EmbeddingFix>();
        int tokenCount = 0, lastComma = -1;

        void Close(bool isLast)
        {
            // A closed chunk counts as full, except the last, which counts its tokens.
            tokenCount += isLast ? tokens.Count : PromptChunk.Capacity;
            chunks.Add(Wrap(tokens, weights, fixes));
            tokens = new List<int>(PromptChunk.Capacity);
            weights = new List<float>(PromptChunk.Capacity);
            fixes = [];
            lastComma = -1;
        }

        foreach (PromptFragment fragment in fragments)
        {
            if (fragment.IsBreak)
            {
                Close(isLast: false);
                continue;
            }
            float weight = (float)fragment.Weight;
            int[] ids = _tokenizer.EncodeWithoutSpecials(fragment.Text);
            for (int position = 0; position < ids.Length; position++)
            {
                int token = ids[position];
                if (_embeddings.FindAt(ids, position) is var (embedding, nameLength))
                {
                    // An embedding's vectors never straddle chunks: they start a new one when they would not fit.
                    int count = embedding.VectorCount;
                    if (tokens.Count + count > PromptChunk.Capacity) Close(isLast: false);
                    fixes.Add(new EmbeddingFix(tokens.Count, embedding));
                    tokens.AddRange(Enumerable.Repeat(0, count));
                    weights.AddRange(Enumerable.Repeat(weight, count));
                    position += nameLength - 1;
                    continue;
                }
                if (token == _comma)
                {
                    lastComma = tokens.Count;
                }
                else if (_backtrack != 0 && tokens.Count == PromptChunk.Capacity && lastComma != -1
                         && tokens.Count - lastComma <= _backtrack)
                {
                    int cut = lastComma + 1;
                    List<int> movedTokens = tokens.GetRange(cut, tokens.Count - cut);
                    List<float> movedWeights = weights.GetRange(cut, weights.Count - cut);
                    tokens.RemoveRange(cut, tokens.Count - cut);
                    weights.RemoveRange(cut, weights.Count - cut);
                    // As in A1111, embedding fixes stay with the chunk being closed.
                    Close(isLast: false);
                    tokens = movedTokens;
                    weights = movedWeights;
                }
                // A full chunk is closed only when the next token comes: exactly 75 tokens stay one chunk.
                if (tokens.Count == PromptChunk.Capacity) Close(isLast: false);
                tokens.Add(token);
                weights.Add(weight);
            }
        }
        if (tokens.Count > 0 || chunks.Count == 0) Close(isLast: true);
        return new ChunkedPrompt(chunks, tokenCount);
    }

    private PromptChunk Wrap(List<int> tokens, List<float> weights, List<EmbeddingFix> fixes)
    {
        if (tokens.Count > PromptChunk.Capacity)
            throw new InvalidInputException($"an embedding of {tokens.Count} vectors does not fit in one {PromptChunk.Capacity}-token chunk");
        var ids = new int[PromptChunk.Length];
        var multipliers = new float[PromptChunk.Length];
        Array.Fill(ids, _tokenizer.EosId);
        Array.Fill(multipliers, 1f);
        ids[0] = _tokenizer.BosId;
        tokens.CopyTo(ids, 1);
        weights.CopyTo(multipliers, 1);
        return new PromptChunk(ids, multipliers, tokens.Count, fixes);
    }
}
