using SdSharp.Addons.Embeddings;

namespace SdSharp.Text.Conditioning;

/// <summary>An embedding's vectors in a chunk: they replace the token embeddings from prompt token <c>Offset</c> on (BOS not counted).</summary>
public sealed record EmbeddingFix(int Offset, TextualInversionEmbedding Embedding);

/// <summary>
/// One text-encoder pass of a prompt (A1111's <c>PromptChunk</c>): 77 token ids, <c>[BOS] + 75 + [EOS]</c>, the
/// 75 filled with prompt tokens and then EOS, and each token's emphasis weight (1 for BOS, EOS and padding).
/// </summary>
public sealed class PromptChunk
{
    /// <summary>Prompt tokens in one chunk (A1111's chunk_length).</summary>
    public const int Capacity = 75;

    /// <summary>Tokens in one encoder pass: BOS, <see cref="Capacity"/>, EOS.</summary>
    public const int Length = Capacity + 2;

    internal PromptChunk(int[] tokens, float[] weights, int promptTokens, IReadOnlyList<EmbeddingFix>? fixes = null)
    {
        Fixes = fixes ?? [];
        Tokens = tokens;
        Weights = weights;
        PromptTokens = promptTokens;
    }

    /// <summary>The 77 ids, padded with EOS (as SD 1.x and HF pad; OpenCLIP encoders re-pad with 0 when they encode).</summary>
    public IReadOnlyList<int> Tokens { get; }

    /// <summary>The 77 emphasis multipliers, in fp32 as A1111's tensor of them.</summary>
    public IReadOnlyList<float> Weights { get; }

    /// <summary>The textual-inversion embeddings in this chunk (A1111's PromptChunk.fixes).</summary>
    public IReadOnlyList<EmbeddingFix> Fixes { get; }

    /// <summary>How many of the 75 are prompt tokens (the rest are EOS padding).</summary>
    public int PromptTokens { get; }

    /// <summary>A1111's filler chunk for batch items with fewer chunks: BOS then 76 EOS, all weights 1.</summary>
    public static PromptChunk Empty(int bos, int eos)
    {
        var tokens = new int[Length];
        Array.Fill(tokens, eos);
        tokens[0] = bos;
        var weights = new float[Length];
        Array.Fill(weights, 1f);
        return new PromptChunk(tokens, weights, 0);
    }
}

/// <summary>A prompt text cut into chunks, and A1111's token count for it (what its UI shows as "n/75").</summary>
/// <param name="TokenCount">75 for each chunk but the last, plus the last one's prompt tokens.</param>
public sealed record ChunkedPrompt(IReadOnlyList<PromptChunk> Chunks, int TokenCount);
