namespace SdSharp.Sampling;

/// <summary>What a schedule function gets: A1111's <c>scheduler.function(n, sigma_min, sigma_max, ...)</c> arguments.</summary>
/// <param name="N">Number of noise levels before the final one (usually the step count).</param>
/// <param name="SigmaMin">Lowest σ (the model's, unless overridden).</param>
/// <param name="SigmaMax">Highest σ.</param>
/// <param name="Rho">Karras/polyexponential ρ.</param>
/// <param name="Model">The model's table (A1111's <c>inner_model</c>), for the schedules that read it.</param>
/// <param name="IsSdxl">Align Your Steps has separate SD 1.5 and SDXL tables.</param>
/// <param name="BetaAlpha">Beta schedule α (A1111 option <c>beta_dist_alpha</c>).</param>
/// <param name="BetaBeta">Beta schedule β (A1111 option <c>beta_dist_beta</c>).</param>
public sealed record ScheduleInput(int N, double SigmaMin, double SigmaMax, double Rho, NoiseSchedule Model,
    bool IsSdxl, double BetaAlpha, double BetaBeta);

/// <summary>
/// An A1111 "Schedule type" (<c>sd_schedulers.py</c>): its internal name, UI label, aliases and function.
/// Every function returns float32-representable σ values, as A1111's tensors hold them; most end with 0.
/// </summary>
public sealed class ScheduleType
{
    private ScheduleType(string name, string label, Func<ScheduleInput, double[]>? function, double defaultRho = -1,
        params string[] aliases)
    {
        Name = name;
        Label = label;
        Function = function;
        DefaultRho = defaultRho;
        Aliases = aliases;
    }

    public string Name { get; }
    public string Label { get; }
    public IReadOnlyList<string> Aliases { get; }
    /// <summary>ρ the function uses unless the "rho" option overrides it; −1 where ρ does not apply.</summary>
    public double DefaultRho { get; }
    /// <summary>Null for Automatic: the sampler's default schedule, or the model's own.</summary>
    internal Func<ScheduleInput, double[]>? Function { get; }

    public override string ToString() => Label;

    public static readonly ScheduleType Automatic = new("automatic", "Automatic", null);
    public static readonly ScheduleType Uniform = new("uniform", "Uniform", s => s.Model.UniformSigmas(s.N));
    public static readonly ScheduleType Karras = new("karras", "Karras", Schedules.Karras, 7.0);
    public static readonly ScheduleType Exponential = new("exponential", "Exponential", Schedules.Exponential);
    public static readonly ScheduleType Polyexponential = new("polyexponential", "Polyexponential", Schedules.Polyexponential, 1.0);
    public static readonly ScheduleType SgmUniform = new("sgm_uniform", "SGM Uniform", s => Schedules.EvenTimesteps(s, sgm: true), -1, "SGMUniform");
    public static readonly ScheduleType KlOptimal = new("kl_optimal", "KL Optimal", Schedules.KlOptimal);
    public static readonly ScheduleType AlignYourSteps = new("align_your_steps", "Align Your Steps", Schedules.AlignYourSteps);
    public static readonly ScheduleType Simple = new("simple", "Simple", Schedules.Simple);
    public static readonly ScheduleType Normal = new("normal", "Normal", s => Schedules.EvenTimesteps(s, sgm: false));
    public static readonly ScheduleType Ddim = new("ddim", "DDIM", Schedules.DdimUniform);
    public static readonly ScheduleType Beta = new("beta", "Beta", Schedules.Beta);

    /// <summary>A1111's list, in its order (legacy sampler-name suffixes are matched in this order).</summary>
    public static IReadOnlyList<ScheduleType> All { get; } =
        [Automatic, Uniform, Karras, Exponential, Polyexponential, SgmUniform, KlOptimal, AlignYourSteps, Simple, Normal, Ddim, Beta];

    /// <summary>By label, internal name or alias, any case; null for an empty name (Automatic) or an unknown one.</summary>
    public static ScheduleType? Find(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return Automatic;
        string n = name.Trim();
        return All.FirstOrDefault(s => s.Names.Any(x => string.Equals(x, n, StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>Like <see cref="Find"/>, but an unknown name is the user's error and lists the valid labels.</summary>
    public static ScheduleType Parse(string? name) => Find(name)
        ?? throw new InvalidInputException($"Unknown schedule type '{name}': expected one of {string.Join(", ", All.Select(s => s.Label))}.");

    internal IEnumerable<string> Names => [Label, Name, .. Aliases];
}

/// <summary>The schedule functions of A1111's <c>sd_schedulers.py</c> and k-diffusion's <c>get_sigmas_*</c>.</summary>
internal static class Schedules
{
    // The schedules below repeat torch's float32 steps (one rounding per tensor op), so their σ are A1111's bits:
    // the Brownian tree rounds σ to 6 decimals, and one ulp can move a query across that grid.

    public static double[] Karras(ScheduleInput s)
    {
        float[] ramp = NoiseSchedule.LinspaceF32(0, 1, s.N);
        double minInv = Math.Pow(s.SigmaMin, 1 / s.Rho), maxInv = Math.Pow(s.SigmaMax, 1 / s.Rho);
        float span = (float)(minInv - maxInv), top = (float)maxInv;
        return AppendZero(ramp.Select(r => Math.Pow(top + r * span, s.Rho)));
    }

    public static double[] Exponential(ScheduleInput s) =>
        AppendZero(NoiseSchedule.LinspaceF32((float)Math.Log(s.SigmaMax), (float)Math.Log(s.SigmaMin), s.N).Select(v => (double)MathF.Exp(v)));

    public static double[] Polyexponential(ScheduleInput s)
    {
        double logMin = Math.Log(s.SigmaMin), logMax = Math.Log(s.SigmaMax);
        float span = (float)(logMax - logMin), bottom = (float)logMin;
        return AppendZero(NoiseSchedule.LinspaceF32(1, 0, s.N).Select(r =>
        {
            float ramp = s.Rho == 1 ? r : (float)Math.Pow(r, s.Rho); // torch copies for ** 1
            return (double)MathF.Exp(ramp * span + bottom);
        }));
    }

    /// <summary>
    /// "SGM Uniform" and "Normal": timesteps evenly between those of σmax and σmin (SGM leaves out the last one).
    /// The σ bounds pass through float32 first, as <c>torch.tensor(sigma)</c> does.
    /// </summary>
    public static double[] EvenTimesteps(ScheduleInput s, bool sgm)
    {
        float start = (float)s.Model.SigmaToT((float)s.SigmaMax), end = (float)s.Model.SigmaToT((float)s.SigmaMin);
        float[] t = sgm ? NoiseSchedule.LinspaceF32(start, end, s.N + 1)[..^1] : NoiseSchedule.LinspaceF32(start, end, s.N);
        return AppendZero(t.Select(x => (double)s.Model.TToSigmaF32(x)));
    }

    /// <summary>tan of angles evenly between atan σmax and atan σmin; it ends at σmin, not 0.</summary>
    public static double[] KlOptimal(ScheduleInput s)
    {
        float alphaMin = MathF.Atan((float)s.SigmaMin), alphaMax = MathF.Atan((float)s.SigmaMax);
        return [.. Enumerable.Range(0, s.N + 1).Select(i =>
        {
            float f = (float)i / s.N;
            return (double)MathF.Tan(f * alphaMin + (1 - f) * alphaMax);
        })];
    }

    private static readonly double[] AysSd15 = [14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029];
    private static readonly double[] AysSdxl = [14.615, 6.315, 3.771, 2.181, 1.342, 0.862, 0.555, 0.380, 0.234, 0.113, 0.029];

    /// <summary>NVIDIA's tuned 10-step tables, log-linearly resampled to other step counts.</summary>
    public static double[] AlignYourSteps(ScheduleInput s)
    {
        double[] table = s.IsSdxl ? AysSdxl : AysSd15;
        if (s.N == table.Length) return AppendZero(table);
        // np.interp over log σ, ascending, at np.linspace(0, 1, ·) positions
        double[] ys = [.. table.Reverse().Select(v => Math.Log(v))];
        double[] xs = NumpyLinspace01(ys.Length);
        double[] at = NumpyLinspace01(s.N);
        var result = new double[s.N];
        for (int i = 0; i < s.N; i++) result[s.N - 1 - i] = Math.Exp(Interp(at[i], xs, ys));
        return AppendZero(result);
    }

    /// <summary>Every (len/n)-th table σ from the top, truncating the fractional index.</summary>
    public static double[] Simple(ScheduleInput s)
    {
        ReadOnlySpan<float> sigmas = s.Model.Sigmas;
        double stride = (double)sigmas.Length / s.N;
        var result = new double[s.N];
        for (int x = 0; x < s.N; x++) result[x] = sigmas[sigmas.Length - 1 - (int)(x * stride)];
        return AppendZero(result);
    }

    /// <summary>Table σ at 1, 1 + k, 1 + 2k, … (k = len / n), highest first: the DDIM timesteps, so the count can differ from n.</summary>
    public static double[] DdimUniform(ScheduleInput s)
    {
        ReadOnlySpan<float> sigmas = s.Model.Sigmas;
        int stride = Math.Max(sigmas.Length / s.N, 1);
        var picked = new List<double>();
        for (int x = 1; x < sigmas.Length; x += stride) picked.Add(sigmas[x]);
        picked.Reverse();
        return AppendZero(picked);
    }

    /// <summary>"Beta Sampling is All You Need": σ at the beta distribution's quantiles 1 … 0.</summary>
    public static double[] Beta(ScheduleInput s)
    {
        double[] q = NumpyLinspace01(s.N);
        return AppendZero(q.Select(x =>
            s.SigmaMin + BetaDistribution.Ppf(1 - x, s.BetaAlpha, s.BetaBeta) * (s.SigmaMax - s.SigmaMin)));
    }

    /// <summary>Rounds to float32 (the tensors A1111 keeps σ in) and appends the final 0.</summary>
    private static double[] AppendZero(IEnumerable<double> sigmas) => [.. sigmas.Select(x => (double)(float)x), 0.0];

    /// <summary>np.linspace(0, 1, n): i·(1/(n−1)), with the last value exactly 1.</summary>
    private static double[] NumpyLinspace01(int n)
    {
        var values = new double[n];
        double step = n > 1 ? 1.0 / (n - 1) : 0;
        for (int i = 0; i < n; i++) values[i] = i * step;
        if (n > 1) values[^1] = 1;
        return values;
    }

    /// <summary>np.interp for increasing xs.</summary>
    private static double Interp(double x, double[] xs, double[] ys)
    {
        if (x <= xs[0]) return ys[0];
        if (x >= xs[^1]) return ys[^1];
        int j = 0;
        while (x >= xs[j + 1]) j++;
        if (x == xs[j]) return ys[j];
        double slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]);
        return slope * (x - xs[j]) + ys[j];
    }
}
