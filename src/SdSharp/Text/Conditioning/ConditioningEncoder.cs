using SdSharp.Text.Encoders;

namespace SdSharp.Text.Conditioning;

/// <summary>Which hidden state of a CLIP text encoder conditions the UNet: after how many layers, and whether the final layer norm follows.</summary>
public readonly record struct HiddenLayer(int Layers, bool FinalLayerNorm)
{
    /// <summary>
    /// SD 1.x: clip skip n uses transformers' <c>hidden_states[−n]</c> through the final layer norm. For n = 1 that is
    /// <c>last_hidden_state</c>, which A1111 reads directly: the same numbers.
    /// </summary>
    public static HiddenLayer Sd1(int modelLayers, int clipSkip) => new(FromEnd(modelLayers, clipSkip), FinalLayerNorm: true);

    /// <summary>
    /// SD 2.x: OpenCLIP-H's penultimate block, then <c>ln_final</c>; clip skip does not apply.
    /// <paramref name="holdsLastBlock"/>: the model has the whole tower (an SD 2 single file, 24 blocks) rather than
    /// diffusers' copy, which already dropped the last block (23), so that all of its blocks run.
    /// </summary>
    public static HiddenLayer Sd2(int modelLayers, bool holdsLastBlock) =>
        new(holdsLastBlock ? modelLayers - 1 : modelLayers, FinalLayerNorm: true);

    /// <summary>
    /// SDXL's CLIP-L: <c>hidden_states[11]</c> of its 12 layers (the penultimate), no final layer norm. With A1111's
    /// <c>sdxl_clip_l_skip</c>, <c>hidden_states[−clipSkip]</c>, still without it.
    /// </summary>
    public static HiddenLayer SdxlClipL(int modelLayers, int? clipSkip = null) =>
        new(clipSkip is int n ? FromEnd(modelLayers, n) : modelLayers - 1, FinalLayerNorm: false);

    /// <summary>SDXL's and the refiner's bigG: the input of the last block ("penultimate"), no <c>ln_final</c>.</summary>
    public static HiddenLayer SdxlBigG(int modelLayers) => new(modelLayers - 1, FinalLayerNorm: false);

    private static int FromEnd(int modelLayers, int n)
    {
        // hidden_states has layers + 1 entries (the embeddings first); index −n is after layers + 1 − n layers.
        if (n < 1 || n > modelLayers + 1)
            throw new InvalidInputException($"clip skip {n}: the text encoder has {modelLayers} layers, so it must be 1 to {modelLayers + 1}");
        return modelLayers + 1 - n;
    }
}

/// <summary>One text encoder of a family's conditioning, with the rules A1111 applies to it.</summary>
/// <param name="Hidden">The hidden state that becomes cross-attention context.</param>
/// <param name="PadWithZeros">OpenCLIP (SD 2.x, SDXL's bigG): tokens after the first EOS become 0; OpenAI's CLIP keeps EOS padding.</param>
/// <param name="Pooled">Also give the projected pooled output of each prompt's first chunk (SDXL's <c>vector</c> input).</param>
/// <param name="EmbeddingKey">Which vectors of an SDXL embedding this encoder takes ("clip_l", "clip_g").</param>
public sealed record ConditioningEncoder(ClipTextModel Model, HiddenLayer Hidden, bool PadWithZeros, bool Pooled, string? EmbeddingKey = null);
