using SdSharp.Generation;
using SdSharp.Tensors;

namespace SdSharp.Sampling;

/// <summary>
/// A1111's per-request sampler knobs. Defaults are A1111's: eta from the sampler (1 for ancestral and SDE
/// samplers, 0 for DDIM), no churn, s_tmax = ∞, s_noise = 1. Each sampler reads only the knobs A1111 passes
/// to it (<c>sampler_extra_params</c>), e.g. Euler a ignores s_noise.
/// </summary>
public sealed record SamplerOptions
{
    /// <summary>Null uses the sampler's default.</summary>
    public double? Eta { get; init; }
    public double Churn { get; init; }
    public double TMin { get; init; }
    public double TMax { get; init; } = double.PositiveInfinity;
    public double NoiseScale { get; init; } = 1;

    /// <summary>The request's values, with A1111's rule that s_tmax 0 means ∞.</summary>
    public static SamplerOptions FromRequest(GenerationRequest request) => new()
    {
        Eta = request.Eta,
        Churn = request.SChurn ?? 0,
        TMin = request.STmin ?? 0,
        TMax = request.STmax is double t && t != 0 ? t : double.PositiveInfinity,
        NoiseScale = request.SNoise ?? 1,
    };
}

/// <summary>One step's state for previews and progress; the tensors are only valid during the callback.</summary>
/// <param name="Step">0-based step (A1111's <c>state.sampling_step</c>).</param>
/// <param name="Total">Number of steps this run reports.</param>
/// <param name="Sigma">The step's noise level.</param>
/// <param name="X">The sampler's current latent.</param>
/// <param name="Denoised">The model's x0 estimate at this step (what A1111 previews).</param>
public readonly record struct SamplerProgress(int Step, int Total, double Sigma, Tensor X, Tensor Denoised);

/// <summary>Everything a sampler runs with besides the latent and the σ list.</summary>
public sealed record SamplerContext
{
    public required IDenoiser Denoiser { get; init; }

    /// <summary>The model's noise table: timestep samplers read ᾱ from it and convert at their boundaries.</summary>
    public NoiseSchedule Schedule { get; init; } = NoiseSchedule.StableDiffusion;

    /// <summary>Null for a run that needs no randomness (e.g. Euler, DPM++ 2M); samplers that do throw.</summary>
    public SamplerNoise? Noise { get; init; }

    public SamplerOptions Options { get; init; } = new();

    /// <summary>
    /// The model's prediction type. Only UniPC reads it: A1111 turns v into ε with ᾱ at the truncated timestep,
    /// which UniPC's fractional timesteps make differ from the exact conversion.
    /// </summary>
    public Prediction Prediction { get; init; }

    /// <summary>Called once per step after the model call(s) that give its x0 estimate.</summary>
    public Action<SamplerProgress>? Progress { get; init; }

    /// <summary>Checked before every model call; cancelling throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>
/// One sampler run: the context plus what the sampler resolved (eta, s_noise, the Brownian range) and the
/// two or three helpers every sampler uses. Sampler functions own every tensor they make and dispose it.
/// </summary>
internal sealed class SamplerRun
{
    private readonly SamplerContext _context;
    private readonly (double Min, double Max)? _brownianRange;
    private BrownianNoise? _brownian;

    public SamplerRun(SamplerContext context, SamplerInfo sampler, int total, (double Min, double Max)? brownianRange)
    {
        _context = context;
        Total = total;
        _brownianRange = brownianRange;
        SamplerOptions o = context.Options;
        Eta = sampler.TakesEta ? o.Eta ?? sampler.DefaultEta : 0;
        SNoise = sampler.TakesNoiseScale ? o.NoiseScale : 1;
        Churn = sampler.TakesChurn ? o.Churn : 0;
        TMin = o.TMin;
        TMax = o.TMax;
    }

    /// <summary>Steps reported; Restart changes it once it knows its step list.</summary>
    public int Total { get; set; }
    public double Eta { get; }
    public double SNoise { get; }
    public double Churn { get; }
    public double TMin { get; }
    public double TMax { get; }
    public NoiseSchedule Schedule => _context.Schedule;
    public Prediction Prediction => _context.Prediction;

    /// <summary>D(x, σ), after checking for cancellation.</summary>
    public Tensor Denoise(Tensor x, double sigma)
    {
        _context.Cancellation.ThrowIfCancellationRequested();
        return _context.Denoiser.Denoise(x, sigma);
    }

    public void Report(int step, double sigma, Tensor x, Tensor denoised) =>
        _context.Progress?.Invoke(new SamplerProgress(step, Total, sigma, x, denoised));

    /// <summary>A1111's <c>randn_like(x)</c>: the next draw of each image's stream.</summary>
    public Tensor Noise() => (_context.Noise ?? throw new InvalidOperationException("This sampler needs a noise source.")).Next();

    /// <summary>A draw A1111 makes but does not use; keeps each stream where A1111's would be.</summary>
    public void SkipNoise() => _context.Noise?.Skip();

    /// <summary>The Brownian-tree noise for σ → σ' (built on first use over the run's σ range).</summary>
    public Tensor Brownian(double sigma, double sigmaNext, IReadOnlyList<double> sigmas)
    {
        if (_brownian is null)
        {
            SamplerNoise noise = _context.Noise ?? throw new InvalidOperationException("This sampler needs a noise source.");
            var (min, max) = _brownianRange ?? (sigmas.Where(s => s > 0).Min(), sigmas.Max());
            _brownian = noise.Brownian(min, max);
        }
        return _brownian.Sample(sigma, sigmaNext);
    }

    /// <summary>Σ cᵢ·tᵢ as a new tensor (one Axpby per term after the first two).</summary>
    public static Tensor Lin(params ReadOnlySpan<(double C, Tensor T)> terms)
    {
        if (terms.Length == 1) return terms[0].T.Backend.Affine(terms[0].T, (float)terms[0].C);
        IBackend b = terms[0].T.Backend;
        Tensor acc = b.Axpby((float)terms[0].C, terms[0].T, (float)terms[1].C, terms[1].T);
        for (int i = 2; i < terms.Length; i++)
        {
            Tensor next = b.Axpby(1f, acc, (float)terms[i].C, terms[i].T);
            acc.Dispose();
            acc = next;
        }
        return acc;
    }

    /// <summary>Replaces a tensor held in a variable, disposing the old one.</summary>
    public static void Swap(ref Tensor x, Tensor value)
    {
        x.Dispose();
        x = value;
    }

    /// <summary>eˣ − 1 without cancellation near 0 (torch's expm1; .NET's double.ExpM1 is exp(x) − 1).</summary>
    public static double Expm1(double x)
    {
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0) return -1.0;
        return double.IsInfinity(u) ? u : um1 * x / Math.Log(u); // Kahan: the rounding of u cancels out
    }

    /// <summary>k-diffusion's <c>get_ancestral_step</c>: how far to step down deterministically, and the noise to add back.</summary>
    public static (double Down, double Up) Ancestral(double from, double to, double eta)
    {
        if (eta == 0) return (to, 0);
        double up = Math.Min(to, eta * Math.Sqrt(to * to * (from * from - to * to) / (from * from)));
        return (Math.Sqrt(to * to - up * up), up);
    }
}
