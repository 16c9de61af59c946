namespace SdSharp.Text.Prompts;

/// <summary>
/// Everything text-level about one generation's prompts: the extra networks to apply, the AND parts of the prompt
/// and the negative prompt as per-step schedules, and the distinct texts the encoder must run on.
/// </summary>
public sealed class PromptPlan
{
    internal PromptPlan(string prompt, string negativePrompt, IReadOnlyList<ExtraNetworkTag> extraNetworks,
        IReadOnlyList<ComposablePrompt> positive, PromptSchedule negative, IReadOnlyList<EncoderText> texts)
    {
        Prompt = prompt;
        NegativePrompt = negativePrompt;
        ExtraNetworks = extraNetworks;
        Positive = positive;
        Negative = negative;
        Texts = texts;
    }

    /// <summary>The prompt as it is read: comments and extra-network tags removed.</summary>
    public string Prompt { get; }

    /// <summary>The negative prompt as it is read: comments removed. A1111 leaves extra-network tags in it as text.</summary>
    public string NegativePrompt { get; }

    /// <summary>The extra-network tags of the prompt, in order.</summary>
    public IReadOnlyList<ExtraNetworkTag> ExtraNetworks { get; }

    /// <summary>The AND parts of the prompt in order (a prompt without AND has one, of weight 1).</summary>
    public IReadOnlyList<ComposablePrompt> Positive { get; }

    /// <summary>The negative prompt's schedule. A1111 does not split the negative prompt on AND.</summary>
    public PromptSchedule Negative { get; }

    /// <summary>Every distinct text used by any schedule, each once; <see cref="EncoderText.Id"/> indexes this list.</summary>
    public IReadOnlyList<EncoderText> Texts { get; }

    /// <summary>The AND parts' texts and weights for <paramref name="step"/> (see <see cref="PromptSchedule.At"/>).</summary>
    public IReadOnlyList<WeightedText> PositiveAt(int step) =>
        [.. Positive.Select(part => new WeightedText(part.Schedule.At(step), part.Weight))];

    public EncoderText NegativeAt(int step) => Negative.At(step);
}
