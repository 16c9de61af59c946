namespace SdSharp.Sampling;

/// <summary>
/// A model's discrete noise levels, as k-diffusion's <c>DiscreteSchedule</c> sees them: ᾱ per training timestep,
/// σ = √((1 − ᾱ)/ᾱ), and the maps between a continuous σ and a (fractional) timestep t that interpolate
/// log σ linearly between neighbouring timesteps. A1111's LCM sampler uses a 50-entry subset of the table with
/// its own quantised σ → t (see <see cref="ForLcm"/>).
/// </summary>
public sealed class NoiseSchedule
{
    private readonly float[] _alphasCumprod;
    private readonly float[] _sigmas;
    // log σ in double of the float32 σ: a table σ maps back to exactly its own timestep.
    private readonly double[] _logSigmas;
    // log σ as k-diffusion's float32 buffer holds it, for building schedules with torch's float32 arithmetic.
    private readonly float[] _logSigmasF32;
    private readonly int _skip;

    /// <param name="alphasCumprod">ᾱ for each timestep, increasing noise (ᾱ decreasing).</param>
    public NoiseSchedule(ReadOnlySpan<float> alphasCumprod) : this(alphasCumprod.ToArray(), 1) { }

    private NoiseSchedule(float[] alphasCumprod, int skip)
    {
        if (alphasCumprod.Length < 2) throw new ArgumentException("A noise schedule needs at least two timesteps.");
        _alphasCumprod = alphasCumprod;
        _skip = skip;
        _sigmas = new float[alphasCumprod.Length];
        _logSigmas = new double[alphasCumprod.Length];
        _logSigmasF32 = new float[alphasCumprod.Length];
        for (int i = 0; i < _sigmas.Length; i++)
        {
            float a = alphasCumprod[i];
            _sigmas[i] = MathF.Sqrt((1f - a) / a); // float32 steps, as k-diffusion computes the buffer
            _logSigmas[i] = Math.Log(_sigmas[i]);
            _logSigmasF32[i] = MathF.Log(_sigmas[i]);
        }
    }

    /// <summary>
    /// Stable Diffusion's schedule (SD 1.x, 2.x, SDXL): scaled-linear β from 0.00085 to 0.012 over 1000 steps.
    /// </summary>
    public static NoiseSchedule StableDiffusion { get; } = ScaledLinear(0.00085, 0.012, 1000);

    /// <summary>
    /// β = linspace(√start, √end, n)² and ᾱ = cumprod(1 − β) in float64, then stored as float32, exactly as
    /// ldm's <c>register_schedule</c> and sgm's <c>LegacyDDPMDiscretization</c> make it.
    /// </summary>
    public static NoiseSchedule ScaledLinear(double betaStart, double betaEnd, int steps)
    {
        double[] roots = Linspace(Math.Sqrt(betaStart), Math.Sqrt(betaEnd), steps);
        var alphas = new float[steps];
        double product = 1;
        for (int i = 0; i < steps; i++)
        {
            product *= 1.0 - roots[i] * roots[i];
            alphas[i] = (float)product;
        }
        return new NoiseSchedule(alphas, 1);
    }

    /// <summary>
    /// A1111's <c>LCMCompVisDenoiser</c>: every 20th timestep from 999 down (50 of them), with σ → t snapping to
    /// the nearest of those and t → σ interpolating between them.
    /// </summary>
    public NoiseSchedule ForLcm(int originalSteps = 50)
    {
        if (_skip != 1) throw new InvalidOperationException("Already an LCM schedule.");
        int skip = _alphasCumprod.Length / originalSteps;
        var subset = new float[originalSteps];
        for (int x = 0; x < originalSteps; x++)
            subset[originalSteps - 1 - x] = _alphasCumprod[_alphasCumprod.Length - 1 - x * skip];
        return new NoiseSchedule(subset, skip);
    }

    public bool IsLcm => _skip > 1;
    public int Count => _sigmas.Length;
    public ReadOnlySpan<float> AlphasCumprod => _alphasCumprod;
    public ReadOnlySpan<float> Sigmas => _sigmas;
    public double SigmaMin => _sigmas[0];
    public double SigmaMax => _sigmas[^1];

    /// <summary>
    /// k-diffusion's <c>sigma_to_t</c>: the last table entry with log σ ≤ ln σ (kept inside the table), then the
    /// fraction of the way to the next one, clamped to [0, 1]. For LCM: the nearest entry's timestep.
    /// </summary>
    public double SigmaToT(double sigma)
    {
        double logSigma = Math.Log(sigma);
        if (IsLcm)
        {
            int best = 0;
            for (int i = 1; i < _logSigmas.Length; i++)
                if (Math.Abs(logSigma - _logSigmas[i]) < Math.Abs(logSigma - _logSigmas[best])) best = i;
            return best * _skip + (_skip - 1);
        }
        int atOrBelow = UpperBound(_logSigmas, logSigma);
        int low = Math.Clamp(atOrBelow - 1, 0, _logSigmas.Length - 2);
        double w = Math.Clamp((_logSigmas[low] - logSigma) / (_logSigmas[low] - _logSigmas[low + 1]), 0, 1);
        return (1 - w) * low + w * (low + 1);
    }

    /// <summary>k-diffusion's <c>t_to_sigma</c>: log-linear interpolation between floor(t) and ceil(t).</summary>
    public double TToSigma(double t)
    {
        if (IsLcm) t = Math.Clamp((t - (_skip - 1)) / _skip, 0, _logSigmas.Length - 1);
        int low = (int)Math.Floor(t), high = (int)Math.Ceiling(t);
        double w = t - low;
        return Math.Exp((1 - w) * _logSigmas[low] + w * _logSigmas[high]);
    }

    /// <summary>
    /// The model's own n-step schedule (k-diffusion <c>get_sigmas</c>; A1111's "Uniform"): timesteps evenly
    /// from the top to the bottom of the table, then 0.
    /// </summary>
    public double[] UniformSigmas(int n)
    {
        float[] t = LinspaceF32((float)SigmaToT(SigmaMax), (float)SigmaToT(SigmaMin), n);
        return [.. t.Select(x => (double)TToSigmaF32(x)), 0.0];
    }

    /// <summary><see cref="TToSigma"/> in torch's float32 steps, as A1111's schedules compute it.</summary>
    internal float TToSigmaF32(float t)
    {
        if (IsLcm) t = Math.Clamp((t - (_skip - 1)) / _skip, 0, _logSigmas.Length - 1);
        int low = (int)MathF.Floor(t), high = (int)MathF.Ceiling(t);
        float w = t - MathF.Truncate(t);
        float logSigma = (1 - w) * _logSigmasF32[low] + w * _logSigmasF32[high];
        return MathF.Exp(logSigma);
    }

    /// <summary>
    /// torch.linspace's arithmetic: the first half counts up from the start, the second half down from the end,
    /// so both ends are exact.
    /// </summary>
    internal static double[] Linspace(double start, double end, int n)
    {
        var values = new double[n];
        if (n == 1) { values[0] = start; return values; }
        double step = (end - start) / (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++)
            values[i] = i < halfway ? start + step * i : end - step * (n - 1 - i);
        return values;
    }

    /// <summary>
    /// torch.linspace in float32 as x86 builds compute it: each half from its end with a fused multiply-add, and
    /// 8-wide blocks (AVX2) filled as base + k·step from the block's first value. Schedules built from it match
    /// A1111's float32 σ bit for bit where the later float ops agree.
    /// </summary>
    internal static float[] LinspaceF32(float start, float end, int n)
    {
        var values = new float[n];
        if (n == 1) { values[0] = start; return values; }
        float step = (end - start) / (n - 1);
        int halfway = n / 2;
        float At(int i) => i < halfway ? MathF.FusedMultiplyAdd(step, i, start) : MathF.FusedMultiplyAdd(-step, n - i - 1, end);
        int index = 0;
        for (; index <= n - 16; index += 16) // two 8-wide vectors per loop turn, the rest one by one
            for (int half = 0; half < 16; half += 8)
            {
                float block = At(index + half);
                for (int k = 0; k < 8; k++) values[index + half + k] = block + k * step;
            }
        for (; index < n; index++) values[index] = At(index);
        return values;
    }

    /// <summary>The number of entries ≤ value in an increasing array.</summary>
    private static int UpperBound(double[] sorted, double value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (sorted[mid] <= value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
