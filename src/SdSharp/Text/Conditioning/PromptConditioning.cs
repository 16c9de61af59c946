using SdSharp.Text.Prompts;

namespace SdSharp.Text.Conditioning;

/// <summary>
/// A prompt plan's conditioning for every step: each distinct schedule encoded once (A1111 caches by prompt
/// text), looked up per step. Owns every tensor; dispose it when the generation is done.
/// </summary>
public sealed class PromptConditioning : IDisposable
{
    private readonly IReadOnlyDictionary<PromptSchedule, IReadOnlyDictionary<EncoderText, TextConditioning>> _positive;
    private readonly IReadOnlyDictionary<EncoderText, TextConditioning> _negative;
    private readonly IReadOnlyList<TextConditioning> _owned;

    internal PromptConditioning(PromptPlan plan,
        IReadOnlyDictionary<PromptSchedule, IReadOnlyDictionary<EncoderText, TextConditioning>> positive,
        IReadOnlyDictionary<EncoderText, TextConditioning> negative, IReadOnlyList<TextConditioning> owned)
    {
        Plan = plan;
        _positive = positive;
        _negative = negative;
        _owned = owned;
    }

    public PromptPlan Plan { get; }

    /// <summary>The distinct conditionings computed (for tests and diagnostics).</summary>
    public int DistinctCount => _owned.Count;

    /// <summary>The conditioning for a step, picked as A1111's <c>reconstruct_cond_batch</c> picks (see <see cref="PromptSchedule.At"/>).</summary>
    public StepConditioning ConditioningAt(int step) => new(
        [.. Plan.Positive.Select(part => new WeightedConditioning(_positive[part.Schedule][part.Schedule.At(step)], part.Weight))],
        _negative[Plan.Negative.At(step)]);

    public void Dispose()
    {
        foreach (TextConditioning c in _owned) c.Dispose();
    }
}
