namespace SdSharp.Text.Prompts;

/// <summary>
/// How prompt-editing numbers become steps (A1111's <c>get_learned_conditioning_prompt_schedules</c> arguments).
/// </summary>
/// <param name="HiresSteps">
/// Set for the hires-fix second pass: the schedule then covers this many steps, and numbers count across both passes
/// (an integer n switches at n − base steps, a fraction f at (f − 1) × hires steps).
/// </param>
/// <param name="UseOldScheduling">
/// A1111's "use_old_scheduling" option: a number below 1 is a fraction of the steps, any other is a step, whether or not
/// it has a '.'; the hires pass then schedules like the base pass.
/// </param>
public sealed record ScheduleOptions(int? HiresSteps = null, bool UseOldScheduling = false)
{
    public static ScheduleOptions Default { get; } = new();
}

/// <summary>The prompt text to use up to and including <see cref="EndStep"/>.</summary>
public readonly record struct ScheduledText(int EndStep, string Text);
