using SdSharp.Tensors;
using static SdSharp.Sampling.SamplerRun;

namespace SdSharp.Sampling;

/// <summary>
/// A1111's UniPC (<c>modules/models/diffusion/uni_pc</c>) with its defaults: multistep, data prediction,
/// variant bh1, order 3, lower order at the end, time-uniform steps. Time is continuous, t ∈ [1/1000, 1] with
/// t = 1 at timestep 999, and α(t) interpolates log √ᾱ linearly in t (<c>NoiseScheduleVP('discrete')</c>). Its
/// σ list holds, for each time point, the σ whose timestep is the model's input time (t − 1/1000)·1000.
/// </summary>
internal static class UniPC
{
    public const int Order = 3;

    public static Tensor Sample(SamplerRun s, Tensor x, double[] sigmas)
    {
        int steps = sigmas.Length - 1;
        if (steps < Order) throw new InvalidInputException($"UniPC needs at least {Order} steps, got {steps}.");
        var vp = new DiscreteVp(s.Schedule);
        double[] t = [.. sigmas.Select(sigma => s.Schedule.SigmaToT(sigma) / 1000 + 1.0 / vp.Count)];

        x = TimestepSamplers.ToDdpm(x, sigmas[0]);
        var models = new List<Tensor> { Model(s, vp, x, sigmas[0], t[0]) };
        var times = new List<int> { 0 };
        try
        {
            for (int step = 1; step <= steps; step++)
            {
                int order = step < Order ? step : Math.Min(Order, steps + 1 - step);
                bool corrector = step < steps;
                Tensor next = Update(s, vp, x, models, times, t, sigmas, step, order, corrector, out Tensor? model);
                Swap(ref x, next);
                s.Report(step - 1, sigmas[step], x, model ?? x);
                if (step < Order)
                {
                    models.Add(model!);
                    times.Add(step);
                    continue;
                }
                models[0].Dispose();
                models.RemoveAt(0);
                times.RemoveAt(0);
                times.Add(step);
                // A1111 keeps the previous step's model value in the slot when there is no new one (the last step).
                models.Add(model ?? KDiffusionSamplers.Copy(models[^1]));
            }
            return x;
        }
        finally
        {
            foreach (Tensor m in models) m.Dispose();
        }
    }

    /// <summary>
    /// <c>multistep_uni_pc_bh_update</c> with predict_x0: the predictor uses the last <paramref name="order"/>
    /// model values; the corrector (UniC) re-evaluates the model at the new point and refines with it.
    /// </summary>
    private static Tensor Update(SamplerRun s, DiscreteVp vp, Tensor x, List<Tensor> models, List<int> times,
        double[] t, double[] sigmas, int step, int order, bool corrector, out Tensor? modelT)
    {
        double tPrev = t[times[^1]], tNow = t[step];
        double lambdaPrev = vp.Lambda(tPrev), lambdaT = vp.Lambda(tNow);
        double sigmaPrev = vp.Std(tPrev), sigmaT = vp.Std(tNow), alphaT = Math.Exp(vp.LogAlpha(tNow));
        double h = lambdaT - lambdaPrev;

        var rks = new List<double>();
        for (int i = 1; i < order; i++) rks.Add((vp.Lambda(t[times[^(i + 1)]]) - lambdaPrev) / h);
        rks.Add(1.0);

        double hh = -h, hPhi1 = Expm1(hh), hPhiK = hPhi1 / hh - 1, bH = hh;
        double factorial = 1;
        var r = new double[order, order];
        var b = new double[order];
        for (int i = 1; i <= order; i++)
        {
            for (int k = 0; k < order; k++) r[i - 1, k] = Math.Pow(rks[k], i - 1);
            b[i - 1] = hPhiK * factorial / bH;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }

        // x_t_ = (σ_t/σ_prev)·x − α_t·hφ₁·m₀, and D1ₖ = (mₖ − m₀)/rₖ for the older model values.
        Tensor m0 = models[^1];
        var terms = new List<(double, Tensor)> { (sigmaT / sigmaPrev, x), (-alphaT * hPhi1, m0) };
        void AddD1s(double[] rhos)
        {
            for (int k = 0; k < order - 1; k++)
            {
                double c = -alphaT * bH * rhos[k] / rks[k];
                terms.Add((c, models[^(k + 2)]));
                terms[1] = (terms[1].Item1 - c, m0);
            }
        }

        modelT = null;
        var baseTerms = new List<(double, Tensor)>(terms);
        if (order > 1) AddD1s(order == 2 ? [0.5] : Solve(r, b, order - 1));
        Tensor xT = Lin([.. terms]);
        if (!corrector) return xT;

        using (xT) modelT = Model(s, vp, xT, sigmas[step], tNow);
        double[] rhosC = order == 1 ? [0.5] : Solve(r, b, order);
        terms = baseTerms;
        if (order > 1) AddD1s(rhosC);
        // … − α_t·B(h)·ρ_last·(model_t − m₀)
        double last = -alphaT * bH * rhosC[order - 1];
        terms.Add((last, modelT));
        terms[1] = (terms[1].Item1 - last, m0);
        return Lin([.. terms]);
    }

    /// <summary>The data prediction at time t: x0 = (x − σ(t)·ε)/α(t), with ε from D at the matching table σ.</summary>
    private static Tensor Model(SamplerRun s, DiscreteVp vp, Tensor xDdpm, double sigma, double t)
    {
        double alpha = 1 / (sigma * sigma + 1);
        using Tensor eps = TimestepSamplers.Eps(s, xDdpm, sigma, alpha);
        double a = Math.Exp(vp.LogAlpha(t)), std = vp.Std(t);
        if (s.Prediction != Prediction.V) return Lin((1 / a, xDdpm), (-std / a, eps));

        // A1111's CompVisTimestepsVDenoiser: ε = √ᾱ[int(t)]·v + √(1 − ᾱ[int(t)])·x with v recovered from our exact ε
        double input = s.Schedule.SigmaToT(sigma), nearest = Math.Round(input);
        double truncated = s.Schedule.AlphasCumprod[(int)(Math.Abs(input - nearest) < 1e-6 ? nearest : Math.Floor(input))];
        double ratio = Math.Sqrt(truncated / alpha);
        double onX = Math.Sqrt(1 - truncated) - ratio * Math.Sqrt(1 - alpha);
        // x0 = (x − std·ε')/a with ε' = ratio·ε + onX·x
        return Lin(((1 - std * onX) / a, xDdpm), (-std * ratio / a, eps));
    }

    /// <summary>Solves the leading n×n block of R·ρ = b (Gaussian elimination with partial pivoting).</summary>
    private static double[] Solve(double[,] r, double[] b, int n)
    {
        var m = new double[n, n + 1];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) m[i, j] = r[i, j];
            m[i, n] = b[i];
        }
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int i = col + 1; i < n; i++) if (Math.Abs(m[i, col]) > Math.Abs(m[pivot, col])) pivot = i;
            for (int j = 0; j <= n; j++) (m[col, j], m[pivot, j]) = (m[pivot, j], m[col, j]);
            for (int i = col + 1; i < n; i++)
            {
                double f = m[i, col] / m[col, col];
                for (int j = col; j <= n; j++) m[i, j] -= f * m[col, j];
            }
        }
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double sum = m[i, n];
            for (int j = i + 1; j < n; j++) sum -= m[i, j] * x[j];
            x[i] = sum / m[i, i];
        }
        return x;
    }

    /// <summary>UniPC's <c>NoiseScheduleVP('discrete')</c>: log α(t) piecewise linear through (i+1)/N ↦ ½·ln ᾱᵢ.</summary>
    private sealed class DiscreteVp(NoiseSchedule schedule)
    {
        private readonly double[] _logAlpha = [.. schedule.AlphasCumprod.ToArray().Select(a => 0.5 * Math.Log(a))];

        public int Count => _logAlpha.Length;

        public double LogAlpha(double t)
        {
            // keypoints t_i = (i+1)/N; outside them the end segments extend linearly
            double position = t * Count - 1;
            int i = Math.Clamp((int)Math.Floor(position), 0, Count - 2);
            double t0 = (i + 1.0) / Count, t1 = (i + 2.0) / Count;
            return _logAlpha[i] + (t - t0) * (_logAlpha[i + 1] - _logAlpha[i]) / (t1 - t0);
        }

        public double Std(double t) => Math.Sqrt(1 - Math.Exp(2 * LogAlpha(t)));

        public double Lambda(double t)
        {
            double logAlpha = LogAlpha(t);
            return logAlpha - 0.5 * Math.Log(1 - Math.Exp(2 * logAlpha));
        }
    }
}
