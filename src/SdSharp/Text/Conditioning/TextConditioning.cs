using SdSharp.Tensors;

namespace SdSharp.Text.Conditioning;

/// <summary>
/// The conditioning of one prompt text: the cross-attention context and, for SDXL and its refiner, the pooled
/// text embedding that starts the UNet's <c>vector</c> input (the caller appends the size/crop/aesthetic numbers).
/// </summary>
public sealed class TextConditioning : IDisposable
{
    internal TextConditioning(Tensor crossAttention, Tensor? pooled)
    {
        CrossAttention = crossAttention;
        Pooled = pooled;
    }

    /// <summary>[1, 77·chunks, context]: every chunk encoded on its own, concatenated along the tokens
    /// (SDXL: CLIP-L's 768 and bigG's 1280 channels side by side).</summary>
    public Tensor CrossAttention { get; }

    /// <summary>[1, pooled] (SDXL/refiner: bigG's projected pooled output of the first chunk), or null.</summary>
    public Tensor? Pooled { get; }

    /// <summary>How many 77-token chunks the context holds.</summary>
    public int Chunks => CrossAttention.Shape[1] / PromptChunk.Length;

    public void Dispose()
    {
        CrossAttention.Dispose();
        Pooled?.Dispose();
    }
}

/// <summary>One AND part's conditioning at a step, with its weight in the guidance.</summary>
public readonly record struct WeightedConditioning(TextConditioning Conditioning, double Weight);

/// <summary>
/// What the sampler uses at one step: the AND parts of the prompt and the negative prompt. Parts (and cond vs.
/// uncond) may have different chunk counts: A1111 then runs them as separate UNet passes, or with
/// <c>pad_cond_uncond</c> pads the shorter with the empty prompt's context (<see cref="TextConditioner.EncodeEmptyPrompt"/>),
/// or with <c>pad_cond_uncond_v0</c> repeats uncond's last token vector; that is the sampler's choice.
/// </summary>
public sealed record StepConditioning(IReadOnlyList<WeightedConditioning> Positive, TextConditioning Negative);
