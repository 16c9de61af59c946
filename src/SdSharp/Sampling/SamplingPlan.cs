using SdSharp.Tensors;

namespace SdSharp.Sampling;

/// <summary>A1111 settings that shape the σ schedule (<c>shared.opts</c>); the defaults are A1111's.</summary>
public sealed record ScheduleSettings
{
    /// <summary>Karras/polyexponential ρ; 0 keeps the schedule's own (A1111 option "rho").</summary>
    public double Rho { get; init; }
    /// <summary>σ range overrides; 0 keeps the model's (A1111 "sigma_min" / "sigma_max").</summary>
    public double SigmaMin { get; init; }
    public double SigmaMax { get; init; }
    /// <summary>Beta schedule shape (A1111 "beta_dist_alpha" / "beta_dist_beta").</summary>
    public double BetaAlpha { get; init; } = 0.6;
    public double BetaBeta { get; init; } = 0.6;
    /// <summary>Drop the next-to-last σ for every sampler (A1111 "always_discard_next_to_last_sigma").</summary>
    public bool AlwaysDiscardPenultimateSigma { get; init; }
    /// <summary>σ range (0.1, 10) instead of the model's (A1111 "use_old_karras_scheduler_sigmas").</summary>
    public bool UseOldKarrasSigmas { get; init; }
    /// <summary>Start txt2img from noise·√(1 + σ₀²) instead of noise·σ₀ (A1111 "sgm_noise_multiplier").</summary>
    public bool SgmNoiseMultiplier { get; init; }

    public static ScheduleSettings Default { get; } = new();
}

/// <summary>
/// The σ list and starting latent for one sampling pass, by A1111's rules: the sampler's default schedule for
/// "Automatic", discarded penultimate σ, img2img's truncated schedule (t_enc = int(min(strength, .999)·steps),
/// σ[steps − t_enc − 1:]), the fixed-steps variant used by hires fix, and the timestep lists of DDIM, PLMS and
/// UniPC. The pipeline starts from <see cref="StartLatent"/>, runs <see cref="Run"/>, and decodes the result.
/// </summary>
public sealed record SamplingPlan
{
    public required SamplerInfo Sampler { get; init; }
    /// <summary>The schedule type as requested (Automatic stays Automatic: the label A1111 writes).</summary>
    public required ScheduleType Schedule { get; init; }
    /// <summary>The table the sampler and the model wrapper use (LCM's for LCM).</summary>
    public required NoiseSchedule ModelSchedule { get; init; }
    /// <summary>The σ the sampler runs over; for timestep samplers, the σ of their timesteps.</summary>
    public required double[] Sigmas { get; init; }
    /// <summary>x = InitScale·init_latent + NoiseScale·noise (InitScale 0 for txt2img).</summary>
    public double InitScale { get; init; }
    public required double NoiseScale { get; init; }
    /// <summary>The Brownian trees' interval: the full schedule's smallest positive and largest σ.</summary>
    public (double Min, double Max)? BrownianRange { get; init; }

    /// <summary>Steps the run reports (A1111's progress steps; Restart's may grow when it runs).</summary>
    public int Steps => Math.Max(Sigmas.Length - 1, 0);

    /// <summary>The scalings the pipeline's denoiser applies around the network for this plan.</summary>
    public ModelWrapper Wrapper(Prediction prediction) => new(ModelSchedule, prediction);

    /// <summary>The starting latent from the noise (and the init latent for img2img), as a new tensor.</summary>
    public Tensor StartLatent(Tensor noise, Tensor? init = null)
    {
        if (init is null || InitScale == 0) return noise.Backend.Affine(noise, (float)NoiseScale);
        return noise.Backend.Axpby((float)InitScale, init, (float)NoiseScale, noise);
    }

    /// <summary>Runs the sampler; returns the latent to decode.</summary>
    public Tensor Run(SamplerContext context, Tensor x) =>
        Sampler.Sample(context with { Schedule = ModelSchedule }, x, Sigmas, BrownianRange);

    /// <summary>txt2img: the full schedule, x = noise·σ₀ (or the DDPM latent at the first timestep).</summary>
    public static SamplingPlan Txt2Img(SamplerInfo sampler, ScheduleType schedule, int steps, NoiseSchedule model,
        bool isSdxl = false, ScheduleSettings? settings = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        settings ??= ScheduleSettings.Default;
        if (sampler.Kind == SamplerKind.Timesteps)
        {
            int[] ts = Timesteps(sampler, steps, settings);
            double[] sigmas = sampler == UniPCSampler
                ? UniPCSigmas(model, ts.Length, 1f)
                : [.. ts.Reverse().Select(t => (double)model.Sigmas[t])];
            return new SamplingPlan
            {
                Sampler = sampler, Schedule = schedule, ModelSchedule = model, Sigmas = sigmas,
                NoiseScale = Math.Sqrt(sigmas[0] * sigmas[0] + 1), // A1111 starts from the noise itself as x_t
            };
        }
        NoiseSchedule table = sampler.Kind == SamplerKind.Lcm ? model.ForLcm() : model;
        double[] full = KSigmas(sampler, schedule, steps, table, isSdxl, settings);
        return new SamplingPlan
        {
            Sampler = sampler, Schedule = schedule, ModelSchedule = table, Sigmas = full,
            NoiseScale = settings.SgmNoiseMultiplier ? Math.Sqrt(1 + full[0] * full[0]) : full[0],
            BrownianRange = sampler.BrownianNoise ? Range(full) : null,
        };
    }

    /// <summary>
    /// img2img (and the hires pass, with <paramref name="fixSteps"/>): A1111's <c>setup_img2img_steps</c>, then the
    /// tail of the schedule from the σ the init latent is noised to.
    /// </summary>
    /// <param name="fixSteps">A1111's "img2img_fix_steps", always on for the hires pass: run exactly
    /// <paramref name="steps"/> steps by stretching the schedule to steps/strength.</param>
    public static SamplingPlan Img2Img(SamplerInfo sampler, ScheduleType schedule, int steps, double strength,
        NoiseSchedule model, bool fixSteps = false, bool isSdxl = false, ScheduleSettings? settings = null)
    {
        settings ??= ScheduleSettings.Default;
        var (total, tEnc) = Img2ImgSteps(steps, strength, fixSteps);
        if (sampler.Kind == SamplerKind.Timesteps)
        {
            if (sampler == UniPCSampler && tEnc < UniPC.Order)
                throw new InvalidInputException($"UniPC needs at least {UniPC.Order} img2img steps; got {tEnc} at this strength.");
            int[] ts = Timesteps(sampler, total, settings);
            double[] sigmas = sampler == UniPCSampler
                ? UniPCSigmas(model, tEnc, (float)((float)ts[tEnc - 1] / 1000f + 0.001f))
                : [.. ts.Take(tEnc).Reverse().Select(t => (double)model.Sigmas[t])];
            // A1111 noises the init latent to ts[t_enc] but starts the sampler one timestep lower.
            float alpha = model.AlphasCumprod[ts[tEnc]];
            double toK = sigmas.Length > 0 ? Math.Sqrt(sigmas[0] * sigmas[0] + 1) : 1;
            return new SamplingPlan
            {
                Sampler = sampler, Schedule = schedule, ModelSchedule = model, Sigmas = sigmas,
                InitScale = MathF.Sqrt(alpha) * toK, NoiseScale = MathF.Sqrt(1 - alpha) * toK,
            };
        }
        NoiseSchedule table = sampler.Kind == SamplerKind.Lcm ? model.ForLcm() : model;
        double[] full = KSigmas(sampler, schedule, total, table, isSdxl, settings);
        double[] tail = full[(total - tEnc - 1)..];
        return new SamplingPlan
        {
            Sampler = sampler, Schedule = schedule, ModelSchedule = table, Sigmas = tail,
            InitScale = 1, NoiseScale = tail[0],
            BrownianRange = sampler.BrownianNoise ? Range(full) : null,
        };
    }

    /// <summary>A1111's <c>setup_img2img_steps</c>: (schedule length, t_enc); the run takes t_enc + 1 steps.</summary>
    public static (int Steps, int TEnc) Img2ImgSteps(int steps, double strength, bool fixSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (fixSteps && strength <= 0) throw new InvalidInputException("Denoising strength must be above 0.");
        if (fixSteps)
            return (strength > 0 ? (int)(steps / Math.Min(strength, 0.999)) : 0, steps - 1);
        return (steps, (int)(Math.Min(strength, 0.999) * steps));
    }

    private static readonly SamplerInfo UniPCSampler = SamplerInfo.Find("UniPC")!;

    /// <summary>k-diffusion sampler σ: the schedule A1111's <c>get_sigmas</c> picks, with the penultimate discard.</summary>
    private static double[] KSigmas(SamplerInfo sampler, ScheduleType schedule, int steps, NoiseSchedule model,
        bool isSdxl, ScheduleSettings settings)
    {
        bool discard = sampler.DiscardPenultimateSigma || settings.AlwaysDiscardPenultimateSigma;
        int n = steps + (discard ? 1 : 0);
        ScheduleType type = schedule == ScheduleType.Automatic ? sampler.DefaultSchedule : schedule;
        double[] sigmas;
        if (type.Function is null) sigmas = model.UniformSigmas(n);
        else
        {
            var (min, max) = settings.UseOldKarrasSigmas ? (0.1, 10.0) : (model.SigmaMin, model.SigmaMax);
            if (settings.SigmaMin != 0) min = settings.SigmaMin;
            if (settings.SigmaMax != 0) max = settings.SigmaMax;
            double rho = type.DefaultRho != -1 && settings.Rho != 0 ? settings.Rho : type.DefaultRho;
            sigmas = type.Function(new ScheduleInput(n, min, max, rho, model, isSdxl, settings.BetaAlpha, settings.BetaBeta));
        }
        return discard && sigmas.Length >= 2 ? [.. sigmas[..^2], sigmas[^1]] : sigmas;
    }

    /// <summary>DDIM/PLMS/UniPC timesteps: clip(range(0, 1000, 1000 // steps) + 1, 0, 999), ascending.</summary>
    private static int[] Timesteps(SamplerInfo sampler, int steps, ScheduleSettings settings)
    {
        if (sampler.DiscardPenultimateSigma || settings.AlwaysDiscardPenultimateSigma) steps++;
        int stride = 1000 / steps;
        if (stride == 0) throw new InvalidInputException($"{sampler.Name} supports at most 1000 steps, got {steps}.");
        var list = new List<int>();
        for (int t = 0; t < 1000; t += stride) list.Add(Math.Clamp(t + 1, 0, 999));
        return [.. list];
    }

    /// <summary>
    /// UniPC's time grid, linspace(t_T, 1/1000, n + 1) in float32, as the σ of each point's model input time
    /// (t − 1/1000)·1000 (also float32, as A1111 computes it).
    /// </summary>
    private static double[] UniPCSigmas(NoiseSchedule model, int n, float tStart)
    {
        var sigmas = new double[n + 1];
        float step = (0.001f - tStart) / n;
        int halfway = (n + 1) / 2;
        for (int i = 0; i <= n; i++)
        {
            float t = i < halfway ? tStart + step * i : 0.001f - step * (n - i);
            float input = (t - 0.001f) * 1000f;
            sigmas[i] = model.TToSigma(input);
        }
        return sigmas;
    }

    private static (double, double) Range(double[] sigmas) => (sigmas.Where(s => s > 0).Min(), sigmas.Max());
}
