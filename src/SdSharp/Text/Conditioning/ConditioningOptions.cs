namespace SdSharp.Text.Conditioning;

/// <summary>
/// A1111's emphasis modes (<c>opts.emphasis</c>) once the prompt is parsed. Its mode "None" (brackets are plain
/// text) is a parsing choice: <see cref="Prompts.PromptPlanOptions.ParseEmphasis"/> = false, then all weights are 1.
/// </summary>
public enum EmphasisMode
{
    /// <summary>Multiply each token's output by its weight, then rescale the chunk to its original mean (the default).</summary>
    Original,
    /// <summary>Multiply by the weights without rescaling.</summary>
    NoNorm,
    /// <summary>Parse emphasis but leave the outputs unweighted.</summary>
    Ignore,
}

/// <summary>The A1111 settings that change how prompts become conditioning, with A1111's defaults.</summary>
public sealed record ConditioningOptions
{
    public static ConditioningOptions Default { get; } = new();

    /// <summary>"Clip skip" (<c>CLIP_stop_at_last_layers</c>): SD 1.x uses the output of layer 12 − (n − 1), final-normed.
    /// SD 2.x ignores it; SDXL uses it only with <see cref="SdxlClipLSkip"/>.</summary>
    public int ClipSkip { get; init; } = 1;

    /// <summary><c>sdxl_clip_l_skip</c>: SDXL's CLIP-L takes <see cref="ClipSkip"/> too (hidden_states[−n], no final LN).</summary>
    public bool SdxlClipLSkip { get; init; }

    public EmphasisMode Emphasis { get; init; } = EmphasisMode.Original;

    /// <summary><c>comma_padding_backtrack</c>: how far back a comma may be for a chunk to end at it (0 turns it off).</summary>
    public int CommaPaddingBacktrack { get; init; } = 20;
}
