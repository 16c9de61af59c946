namespace SdSharp.Text.Prompts;

/// <summary>One scheduled text and the last step it is used for.</summary>
public readonly record struct ScheduleEntry(int EndStep, EncoderText Text);

/// <summary>The texts one (sub-)prompt shows over the sampling steps.</summary>
public sealed class PromptSchedule
{
    internal PromptSchedule(string source, IReadOnlyList<ScheduleEntry> entries)
    {
        Source = source;
        Entries = entries;
    }

    /// <summary>The prompt text this schedule was made from.</summary>
    public string Source { get; }

    /// <summary>In increasing <see cref="ScheduleEntry.EndStep"/> order; the last one ends at the schedule's step count.</summary>
    public IReadOnlyList<ScheduleEntry> Entries { get; }

    /// <summary>
    /// Every scheduled text is empty. SDXL's conditioner uses zeros instead of encoding an empty negative prompt
    /// (A1111: when every negative text of the batch is empty).
    /// </summary>
    public bool IsEmpty => Entries.All(e => e.Text.Text.Length == 0);

    /// <summary>
    /// The text for <paramref name="step"/>, as A1111's <c>reconstruct_cond_batch</c> picks it: the first entry with
    /// step ≤ EndStep, or the first entry if none. A1111 passes its denoiser-call counter here, which starts at 0.
    /// </summary>
    public EncoderText At(int step)
    {
        foreach (ScheduleEntry entry in Entries)
            if (step <= entry.EndStep) return entry.Text;
        return Entries[0].Text;
    }
}

/// <summary>One AND part of the prompt: its schedule and its weight. Equal part texts share one schedule.</summary>
public sealed record ComposablePrompt(PromptSchedule Schedule, double Weight);

/// <summary>What the guidance uses for one AND part at one step.</summary>
public readonly record struct WeightedText(EncoderText Text, double Weight);
