namespace SdSharp.Text.Prompts;

/// <summary>The A1111 settings that change how prompts are read, with A1111's defaults.</summary>
public sealed record PromptPlanOptions
{
    public static PromptPlanOptions Default { get; } = new();

    /// <summary>How prompt-editing numbers map to steps (hires pass, old scheduling).</summary>
    public ScheduleOptions Scheduling { get; init; } = ScheduleOptions.Default;

    /// <summary>A1111's "Enable comments" (<c>enable_prompt_comments</c>): drop '#' to end of line.</summary>
    public bool StripComments { get; init; } = true;

    /// <summary>False for A1111's emphasis mode "None": the whole text is one fragment of weight 1, brackets and BREAK included.</summary>
    public bool ParseEmphasis { get; init; } = true;
}
