namespace SdSharp.Generation.Infotext;

/// <summary>One of A1111's samplers, with what its infotext depends on.</summary>
/// <param name="DefaultScheduler">The scheduler "Automatic" picks (A1111's <c>options['scheduler']</c>), as a scheduler name.</param>
/// <param name="UsesSchedule">k-diffusion style: sigmas come from a schedule, so the infotext reports the schedule actually used.</param>
/// <param name="UsesEnsd">ENSD (eta noise seed delta) changes its noise, so the infotext reports it.</param>
/// <param name="EtaKey">The key its eta is written under when not <paramref name="EtaDefault"/>; null when it takes no eta.</param>
internal sealed record A1111Sampler(string Name, string? DefaultScheduler, bool UsesSchedule, bool UsesEnsd, string? EtaKey, double EtaDefault);

/// <summary>One of A1111's schedule types: its name ("karras"), its label ("Karras") and older spellings.</summary>
internal sealed record A1111Scheduler(string Name, string Label, params string[] Aliases);

/// <summary>
/// A1111 v1.10's sampler and schedule-type names (<c>sd_samplers_kdiffusion</c>, <c>sd_samplers_timesteps</c>,
/// <c>sd_samplers_lcm</c>, <c>sd_schedulers</c>) and its <c>get_sampler_and_scheduler</c>, which turns legacy
/// names such as "DPM++ 2M Karras" into a sampler and a schedule type.
/// </summary>
internal static class A1111Samplers
{
    public const string Automatic = "Automatic";

    public static IReadOnlyList<A1111Sampler> Samplers { get; } =
    [
        new("DPM++ 2M", "karras", true, false, null, 1.0),
        new("DPM++ SDE", "karras", true, false, "Eta", 1.0),
        new("DPM++ 2M SDE", "exponential", true, false, "Eta", 1.0),
        new("DPM++ 2M SDE Heun", "exponential", true, false, "Eta", 1.0),
        new("DPM++ 2S a", "karras", true, true, "Eta", 1.0),
        new("DPM++ 3M SDE", "exponential", true, false, "Eta", 1.0),
        new("Euler a", null, true, true, "Eta", 1.0),
        new("Euler", null, true, false, null, 1.0),
        new("LMS", null, true, false, null, 1.0),
        new("Heun", null, true, false, null, 1.0),
        new("DPM2", "karras", true, false, null, 1.0),
        new("DPM2 a", "karras", true, true, "Eta", 1.0),
        new("DPM fast", null, true, true, "Eta", 1.0),
        new("DPM adaptive", null, true, true, "Eta", 1.0),
        new("Restart", "karras", true, false, null, 1.0),
        new("DDIM", null, false, false, "Eta DDIM", 0.0),
        new("DDIM CFG++", null, false, false, "Eta DDIM", 0.0),
        new("PLMS", null, false, false, null, 0.0),
        new("UniPC", null, false, false, null, 0.0),
        new("LCM", null, true, false, null, 1.0),
    ];

    public static IReadOnlyList<A1111Scheduler> Schedulers { get; } =
    [
        new("automatic", Automatic),
        new("uniform", "Uniform"),
        new("karras", "Karras"),
        new("exponential", "Exponential"),
        new("polyexponential", "Polyexponential"),
        new("sgm_uniform", "SGM Uniform", "SGMUniform"),
        new("kl_optimal", "KL Optimal"),
        new("align_your_steps", "Align Your Steps"),
        new("simple", "Simple"),
        new("normal", "Normal"),
        new("ddim", "DDIM"),
        new("beta", "Beta"),
    ];

    /// <summary>A1111's default sampler (<c>samplers[0]</c>), used for a missing or unknown name.</summary>
    public static A1111Sampler Default => Samplers[0];

    public static A1111Sampler? FindSampler(string name) => Samplers.FirstOrDefault(s => s.Name == name);

    /// <summary><c>schedulers_map</c>: by name or label, exactly (aliases only serve legacy sampler names).</summary>
    public static A1111Scheduler? FindScheduler(string? nameOrLabel) =>
        nameOrLabel == null ? null : Schedulers.FirstOrDefault(s => s.Name == nameOrLabel || s.Label == nameOrLabel);

    /// <summary>
    /// <c>get_sampler_and_scheduler</c>: strips a trailing schedule name from the sampler ("DPM++ 2M Karras"),
    /// falls back to the default sampler and to "Automatic" for unknown names, and, with
    /// <paramref name="convertAutomatic"/>, reports the sampler's own default schedule as "Automatic".
    /// <paramref name="known"/> says whether the sampler name (after stripping) was one of A1111's.
    /// </summary>
    public static (A1111Sampler Sampler, string ScheduleLabel) Resolve(string? samplerName, string? scheduleName,
                                                                        bool convertAutomatic, out bool known)
    {
        var scheduler = FindScheduler(scheduleName) ?? Schedulers[0];
        string name = samplerName is { Length: > 0 } ? samplerName : Default.Name;
        // Every schedule is tried in turn on the remaining name; the inner break only stops at its first spelling.
        foreach (var candidate in Schedulers)
        {
            foreach (string option in (string[])[candidate.Label, candidate.Name, .. candidate.Aliases])
            {
                if (name.EndsWith(" " + option, StringComparison.Ordinal))
                {
                    scheduler = candidate;
                    name = name[..^(option.Length + 1)];
                    break;
                }
            }
        }
        var sampler = FindSampler(name);
        known = sampler != null;
        sampler ??= Default;
        if (convertAutomatic && sampler.DefaultScheduler == scheduler.Name) scheduler = Schedulers[0];
        return (sampler, scheduler.Label);
    }

    /// <summary>
    /// The schedule a sampling pass reports: samplers with sigma schedules replace "Automatic" by their default
    /// ("Karras" for DPM++ 2M); samplers without a default, and timestep samplers (DDIM, PLMS, UniPC), keep the
    /// label they were given.
    /// </summary>
    public static string ScheduleUsed(A1111Sampler sampler, string scheduleLabel) =>
        sampler.UsesSchedule && scheduleLabel == Automatic && sampler.DefaultScheduler is string name
            ? FindScheduler(name)!.Label
            : scheduleLabel;

    /// <summary>
    /// Whether a pass ran with a real schedule function, whose label A1111 records in
    /// <c>extra_generation_params</c> (what "Hires schedule type" is compared with).
    /// </summary>
    public static bool RecordsSchedule(A1111Sampler sampler, string scheduleLabel) =>
        sampler.UsesSchedule && ScheduleUsed(sampler, scheduleLabel) != Automatic;
}
