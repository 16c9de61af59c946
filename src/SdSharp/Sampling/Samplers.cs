using SdSharp.Tensors;

namespace SdSharp.Sampling;

/// <summary>How a sampler meets the model: A1111's three sampler classes.</summary>
public enum SamplerKind
{
    /// <summary>k-diffusion samplers over a σ schedule (<c>KDiffusionSampler</c>).</summary>
    KDiffusion,
    /// <summary>DDPM-timestep samplers that ignore the schedule type (<c>CompVisSampler</c>): DDIM, PLMS, UniPC.</summary>
    Timesteps,
    /// <summary>LCM: k-diffusion style over LCM's 50-timestep table, with LCM's boundary scalings.</summary>
    Lcm,
}

internal delegate Tensor SamplerFunction(SamplerRun run, Tensor x, double[] sigmas);

/// <summary>
/// One of A1111's samplers: its name, aliases, default schedule and options (<c>sd_samplers_*.py</c>), and the
/// function that runs it. <see cref="All"/> is the one table; adding a sampler is a function and a row.
/// </summary>
public sealed record SamplerInfo
{
    private SamplerInfo(string name, string[] aliases, SamplerKind kind, SamplerFunction function)
    {
        Name = name;
        Aliases = aliases;
        Kind = kind;
        Function = function;
    }

    public string Name { get; }
    public IReadOnlyList<string> Aliases { get; }
    public SamplerKind Kind { get; }
    internal SamplerFunction Function { get; }

    /// <summary>The schedule "Automatic" means for this sampler (Automatic itself: the model's uniform timesteps).</summary>
    public ScheduleType DefaultSchedule { get; private init; } = ScheduleType.Automatic;
    /// <summary>Generate one σ more and drop the next-to-last (DPM2, DPM2 a, DPM++ 3M SDE).</summary>
    public bool DiscardPenultimateSigma { get; private init; }
    /// <summary>Two model calls per step (A1111 doubles the progress total for these).</summary>
    public bool SecondOrder { get; private init; }
    /// <summary>Noise from per-image Brownian trees rather than the image streams.</summary>
    public bool BrownianNoise { get; private init; }
    /// <summary>A1111 writes ENSD to the infotext for these samplers (when eta ≠ 0).</summary>
    public bool UsesEnsd { get; private init; }
    internal bool TakesEta { get; private init; }
    /// <summary>Eta when the request leaves it unset: A1111's eta_ancestral (1) or eta_ddim (0).</summary>
    public double DefaultEta { get; private init; }
    internal bool TakesChurn { get; private init; }
    internal bool TakesNoiseScale { get; private init; }

    public override string ToString() => Name;

    /// <summary>
    /// Runs the sampler from x (k-diffusion scaling at σ₀) over the σ list; returns a new tensor, the latent to
    /// decode. <paramref name="brownianRange"/> is the tree's interval, A1111's full schedule's (min σ &gt; 0, max σ),
    /// which differs from the run's own σ for img2img; null uses the run's.
    /// </summary>
    public Tensor Sample(SamplerContext context, Tensor x, IReadOnlyList<double> sigmas, (double Min, double Max)? brownianRange = null)
    {
        var run = new SamplerRun(context, this, Math.Max(sigmas.Count - 1, 0), brownianRange);
        return Function(run, x, [.. sigmas]);
    }

    private static SamplerInfo K(string name, SamplerFunction f, params string[] aliases) => new(name, aliases, SamplerKind.KDiffusion, f);

    /// <summary>A1111 1.10's samplers in its order; the first k-diffusion one is A1111's default.</summary>
    public static IReadOnlyList<SamplerInfo> All { get; } =
    [
        K("DPM++ 2M", KDiffusionSamplers.Dpmpp2M, "k_dpmpp_2m") with { DefaultSchedule = ScheduleType.Karras },
        K("DPM++ SDE", KDiffusionSamplers.DpmppSde, "k_dpmpp_sde") with
            { DefaultSchedule = ScheduleType.Karras, SecondOrder = true, BrownianNoise = true, TakesEta = true, DefaultEta = 1, TakesNoiseScale = true },
        K("DPM++ 2M SDE", KDiffusionSamplers.Dpmpp2MSde, "k_dpmpp_2m_sde") with
            { DefaultSchedule = ScheduleType.Exponential, BrownianNoise = true, TakesEta = true, DefaultEta = 1, TakesNoiseScale = true },
        K("DPM++ 2M SDE Heun", KDiffusionSamplers.Dpmpp2MSdeHeun, "k_dpmpp_2m_sde_heun") with
            { DefaultSchedule = ScheduleType.Exponential, BrownianNoise = true, TakesEta = true, DefaultEta = 1, TakesNoiseScale = true },
        K("DPM++ 2S a", KDiffusionSamplers.Dpmpp2SAncestral, "k_dpmpp_2s_a") with
            { DefaultSchedule = ScheduleType.Karras, UsesEnsd = true, SecondOrder = true, TakesEta = true, DefaultEta = 1, TakesNoiseScale = true },
        K("DPM++ 3M SDE", KDiffusionSamplers.Dpmpp3MSde, "k_dpmpp_3m_sde") with
            { DefaultSchedule = ScheduleType.Exponential, DiscardPenultimateSigma = true, BrownianNoise = true, TakesEta = true, DefaultEta = 1, TakesNoiseScale = true },
        K("Euler a", KDiffusionSamplers.EulerAncestral, "k_euler_a", "k_euler_ancestral") with { UsesEnsd = true, TakesEta = true, DefaultEta = 1 },
        K("Euler", KDiffusionSamplers.Euler, "k_euler") with { TakesChurn = true, TakesNoiseScale = true },
        K("LMS", KDiffusionSamplers.Lms, "k_lms"),
        K("Heun", KDiffusionSamplers.Heun, "k_heun") with { SecondOrder = true, TakesChurn = true, TakesNoiseScale = true },
        K("DPM2", KDiffusionSamplers.Dpm2, "k_dpm_2") with
            { DefaultSchedule = ScheduleType.Karras, DiscardPenultimateSigma = true, SecondOrder = true, TakesChurn = true, TakesNoiseScale = true },
        K("DPM2 a", KDiffusionSamplers.Dpm2Ancestral, "k_dpm_2_a") with
            { DefaultSchedule = ScheduleType.Karras, DiscardPenultimateSigma = true, UsesEnsd = true, SecondOrder = true, TakesEta = true, DefaultEta = 1, TakesNoiseScale = true },
        K("Restart", KDiffusionSamplers.Restart, "restart") with { DefaultSchedule = ScheduleType.Karras, SecondOrder = true },
        new SamplerInfo("DDIM", ["ddim"], SamplerKind.Timesteps, TimestepSamplers.Ddim) { TakesEta = true, DefaultEta = 0 },
        new SamplerInfo("PLMS", ["plms"], SamplerKind.Timesteps, TimestepSamplers.Plms),
        new SamplerInfo("UniPC", ["unipc"], SamplerKind.Timesteps, UniPC.Sample),
        new SamplerInfo("LCM", ["k_lcm"], SamplerKind.Lcm, KDiffusionSamplers.Lcm),
    ];

    /// <summary>By name or alias, any case; null if unknown.</summary>
    public static SamplerInfo? Find(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        string n = name.Trim();
        return All.FirstOrDefault(s => string.Equals(s.Name, n, StringComparison.OrdinalIgnoreCase)
            || s.Aliases.Any(a => string.Equals(a, n, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>
    /// A1111's <c>get_sampler_and_scheduler</c>: a legacy name with a schedule suffix ("DPM++ 2M Karras") is the
    /// sampler plus that schedule; a schedule equal to the sampler's default becomes Automatic. A null sampler is
    /// "Euler" (A1111's API default). Unknown names are the user's error and list the valid ones.
    /// </summary>
    public static (SamplerInfo Sampler, ScheduleType Schedule) Resolve(string? sampler, string? schedule)
    {
        string name = string.IsNullOrWhiteSpace(sampler) ? "Euler" : sampler.Trim();
        ScheduleType found = ScheduleType.Parse(schedule);
        foreach (ScheduleType type in ScheduleType.All)
            foreach (string suffix in type.Names)
                if (name.EndsWith(" " + suffix, StringComparison.OrdinalIgnoreCase))
                {
                    found = type;
                    name = name[..^(suffix.Length + 1)];
                    break;
                }
        SamplerInfo info = Find(name) ?? throw new InvalidInputException(
            $"Unknown sampler '{sampler}': expected one of {string.Join(", ", All.Select(s => s.Name))} " +
            $"(optionally followed by a schedule type, e.g. 'DPM++ 2M Karras').");
        if (info.DefaultSchedule == found) found = ScheduleType.Automatic;
        return (info, found);
    }
}
