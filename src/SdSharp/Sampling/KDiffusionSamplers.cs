using SdSharp.Tensors;
using static SdSharp.Sampling.SamplerRun;

namespace SdSharp.Sampling;

/// <summary>
/// k-diffusion 0.0.16's samplers (the version A1111 pins) and A1111's LCM and Restart, each one loop over σ
/// pairs. Steps are written as blends: x + (x − D)/σ·(σ' − σ) is (σ'/σ)·x + (1 − σ'/σ)·D, the same update
/// with one tensor op. Coefficients are computed in double; tensors stay on the device.
/// </summary>
internal static class KDiffusionSamplers
{
    /// <summary>Karras et al. Algorithm 2 with Euler steps; churn adds noise to climb to σ̂ = σ(1 + γ) first.</summary>
    public static Tensor Euler(SamplerRun s, Tensor x, double[] sigmas) => ChurnLoop(s, x, sigmas, (x, denoised, sigmaHat, i) =>
    {
        double r = sigmas[i + 1] / sigmaHat;
        return Lin((r, x), (1 - r, denoised));
    });

    /// <summary>Heun's method: an Euler step, then the average of the slopes at both ends (Euler onto σ = 0).</summary>
    public static Tensor Heun(SamplerRun s, Tensor x, double[] sigmas) => ChurnLoop(s, x, sigmas, (x, denoised, sigmaHat, i) =>
    {
        double next = sigmas[i + 1], r = next / sigmaHat;
        if (next == 0) return Lin((r, x), (1 - r, denoised));
        using Tensor x2 = Lin((r, x), (1 - r, denoised));
        using Tensor denoised2 = s.Denoise(x2, next);
        // x + dt/2·(d + d2), with d = (x − D)/σ̂ and d2 = (x2 − D2)/σ'
        double dt = next - sigmaHat, a = dt / (2 * sigmaHat), b = dt / (2 * next);
        return Lin((1 + a, x), (-a, denoised), (b, x2), (-b, denoised2));
    });

    /// <summary>DPM-Solver-2 style: the slope at the log-midpoint σm = √(σ̂σ') carries the whole step.</summary>
    public static Tensor Dpm2(SamplerRun s, Tensor x, double[] sigmas) => ChurnLoop(s, x, sigmas, (x, denoised, sigmaHat, i) =>
    {
        double next = sigmas[i + 1];
        if (next == 0) return Lin((next / sigmaHat, x), (1 - next / sigmaHat, denoised));
        double mid = Math.Exp(0.5 * (Math.Log(sigmaHat) + Math.Log(next))), r = mid / sigmaHat;
        using Tensor x2 = Lin((r, x), (1 - r, denoised));
        using Tensor denoised2 = s.Denoise(x2, mid);
        double c = (next - sigmaHat) / mid;
        return Lin((1, x), (c, x2), (-c, denoised2));
    });

    /// <summary>
    /// The shared loop of Euler, Heun and DPM2: A1111 draws noise every step, churn or not, so each image's
    /// stream advances as in A1111 even when γ = 0 leaves the draw unused.
    /// </summary>
    private static Tensor ChurnLoop(SamplerRun s, Tensor x, double[] sigmas, Func<Tensor, Tensor, double, int, Tensor> step)
    {
        int n = sigmas.Length - 1;
        x = Copy(x);
        for (int i = 0; i < n; i++)
        {
            double sigma = sigmas[i];
            double gamma = s.TMin <= sigma && sigma <= s.TMax ? Math.Min(s.Churn / n, Math.Sqrt(2) - 1) : 0;
            double sigmaHat = sigma * (gamma + 1);
            if (gamma > 0)
            {
                using Tensor eps = s.Noise();
                Swap(ref x, Lin((1, x), (s.SNoise * Math.Sqrt(sigmaHat * sigmaHat - sigma * sigma), eps)));
            }
            else s.SkipNoise();
            using Tensor denoised = s.Denoise(x, sigmaHat);
            s.Report(i, sigma, x, denoised);
            Swap(ref x, step(x, denoised, sigmaHat, i));
        }
        return x;
    }

    /// <summary>Ancestral Euler: step deterministically down to σ↓, then add fresh noise of size σ↑.</summary>
    public static Tensor EulerAncestral(SamplerRun s, Tensor x, double[] sigmas)
    {
        x = Copy(x);
        for (int i = 0; i < sigmas.Length - 1; i++)
        {
            using Tensor denoised = s.Denoise(x, sigmas[i]);
            var (down, up) = Ancestral(sigmas[i], sigmas[i + 1], s.Eta);
            s.Report(i, sigmas[i], x, denoised);
            double r = down / sigmas[i];
            Swap(ref x, Lin((r, x), (1 - r, denoised)));
            if (sigmas[i + 1] > 0) AddNoise(ref x, s.Noise(), s.SNoise * up);
        }
        return x;
    }

    /// <summary>Ancestral DPM2: the midpoint step to σ↓, then noise σ↑ (none on the final Euler step).</summary>
    public static Tensor Dpm2Ancestral(SamplerRun s, Tensor x, double[] sigmas)
    {
        x = Copy(x);
        for (int i = 0; i < sigmas.Length - 1; i++)
        {
            double sigma = sigmas[i];
            using Tensor denoised = s.Denoise(x, sigma);
            var (down, up) = Ancestral(sigma, sigmas[i + 1], s.Eta);
            s.Report(i, sigma, x, denoised);
            if (down == 0)
            {
                Swap(ref x, Copy(denoised));
                continue;
            }
            double mid = Math.Exp(0.5 * (Math.Log(sigma) + Math.Log(down))), r = mid / sigma;
            using (Tensor x2 = Lin((r, x), (1 - r, denoised)))
            using (Tensor denoised2 = s.Denoise(x2, mid))
            {
                double c = (down - sigma) / mid;
                Swap(ref x, Lin((1, x), (c, x2), (-c, denoised2)));
            }
            AddNoise(ref x, s.Noise(), s.SNoise * up);
        }
        return x;
    }

    /// <summary>
    /// Linear multistep of order 4: x += Σ cⱼ·d₍ᵢ₋ⱼ₎, where cⱼ integrates the Lagrange basis polynomial through
    /// the last σ over [σᵢ, σᵢ₊₁]. k-diffusion uses scipy's quad, exact on these cubics; we integrate exactly.
    /// </summary>
    public static Tensor Lms(SamplerRun s, Tensor x, double[] sigmas)
    {
        const int order = 4;
        var ds = new List<Tensor>();
        x = Copy(x);
        try
        {
            for (int i = 0; i < sigmas.Length - 1; i++)
            {
                using (Tensor denoised = s.Denoise(x, sigmas[i]))
                {
                    ds.Add(Lin((1 / sigmas[i], x), (-1 / sigmas[i], denoised)));
                    if (ds.Count > order) { ds[0].Dispose(); ds.RemoveAt(0); }
                    s.Report(i, sigmas[i], x, denoised);
                }
                int current = Math.Min(i + 1, order);
                var terms = new (double, Tensor)[current + 1];
                terms[0] = (1, x);
                for (int j = 0; j < current; j++) terms[j + 1] = (LmsCoefficient(current, sigmas, i, j), ds[^(j + 1)]);
                Swap(ref x, Lin(terms));
            }
            return x;
        }
        finally
        {
            foreach (Tensor d in ds) d.Dispose();
        }
    }

    /// <summary>
    /// ∫ from σᵢ to σᵢ₊₁ of Π₍ₖ≠ⱼ₎ (τ − σᵢ₋ₖ)/(σᵢ₋ⱼ − σᵢ₋ₖ) dτ. The σ are float32 and each denominator is a float32
    /// difference (numpy float32 arithmetic); the polynomial is expanded and integrated in double.
    /// </summary>
    internal static double LmsCoefficient(int order, double[] sigmas, int i, int j)
    {
        var poly = new double[order]; // coefficients of τ^0 … τ^(order−1)
        poly[0] = 1;
        int degree = 0;
        for (int k = 0; k < order; k++)
        {
            if (k == j) continue;
            double root = sigmas[i - k];
            double denominator = (float)sigmas[i - j] - (float)sigmas[i - k];
            for (int p = degree + 1; p >= 0; p--)
                poly[p] = ((p > 0 ? poly[p - 1] : 0) - root * (p <= degree ? poly[p] : 0)) / denominator;
            degree++;
        }
        double a = sigmas[i], b = sigmas[i + 1], integral = 0;
        for (int p = 0; p <= degree; p++) integral += poly[p] * (Math.Pow(b, p + 1) - Math.Pow(a, p + 1)) / (p + 1);
        return integral;
    }

    /// <summary>DPM-Solver++(2S) with ancestral noise: a half step in log σ gives the x0 used for the full step.</summary>
    public static Tensor Dpmpp2SAncestral(SamplerRun s, Tensor x, double[] sigmas)
    {
        x = Copy(x);
        for (int i = 0; i < sigmas.Length - 1; i++)
        {
            double sigma = sigmas[i];
            using Tensor denoised = s.Denoise(x, sigma);
            var (down, up) = Ancestral(sigma, sigmas[i + 1], s.Eta);
            s.Report(i, sigma, x, denoised);
            if (down == 0) Swap(ref x, Copy(denoised));
            else
            {
                double h = Math.Log(sigma) - Math.Log(down), sMid = sigma * Math.Exp(-0.5 * h);
                using Tensor x2 = Lin((sMid / sigma, x), (-Expm1(-0.5 * h), denoised));
                using Tensor denoised2 = s.Denoise(x2, sMid);
                Swap(ref x, Lin((down / sigma, x), (-Expm1(-h), denoised2)));
            }
            if (sigmas[i + 1] > 0) AddNoise(ref x, s.Noise(), s.SNoise * up);
        }
        return x;
    }

    /// <summary>
    /// DPM-Solver++ (stochastic), r = ½: an ancestral half step to σ(s), a model call there, then the full
    /// ancestral step with its x0; both noises come from the Brownian tree. The tree's query points are
    /// exp(−t) of float32 t = −ln σ, computed in float32 as k-diffusion's tensors do, so the noise matches.
    /// </summary>
    public static Tensor DpmppSde(SamplerRun s, Tensor x, double[] sigmas)
    {
        const double r = 0.5;
        x = Copy(x);
        for (int i = 0; i < sigmas.Length - 1; i++)
        {
            double sigma = sigmas[i], next = sigmas[i + 1];
            using Tensor denoised = s.Denoise(x, sigma);
            s.Report(i, sigma, x, denoised);
            if (next == 0)
            {
                Swap(ref x, Copy(denoised));
                continue;
            }
            float t = -MathF.Log((float)sigma), tNext = -MathF.Log((float)next);
            float sMid = t + (tNext - t) * (float)r;
            double sigmaT = MathF.Exp(-t), sigmaS = MathF.Exp(-sMid), sigmaNext = MathF.Exp(-tNext);

            // Step 1: ancestral step to σ(s)
            var (sd, su) = Ancestral(sigmaT, sigmaS, s.Eta);
            double h1 = Math.Log(sigmaT) - Math.Log(sd);
            Tensor x2 = Lin((sd / sigmaT, x), (-Expm1(-h1), denoised));
            Tensor denoised2;
            try
            {
                if (su != 0) AddNoise(ref x2, s.Brownian(sigmaT, sigmaS, sigmas), s.SNoise * su);
                denoised2 = s.Denoise(x2, sigmaS);
            }
            finally
            {
                x2.Dispose();
            }

            // Step 2: the full ancestral step with x0 from the midpoint (fac = 1/(2r) = 1)
            (sd, su) = Ancestral(sigmaT, sigmaNext, s.Eta);
            double h2 = Math.Log(sigmaT) - Math.Log(sd);
            using (denoised2) Swap(ref x, Lin((sd / sigmaT, x), (-Expm1(-h2), denoised2)));
            if (su != 0) AddNoise(ref x, s.Brownian(sigmaT, sigmaNext, sigmas), s.SNoise * su);
        }
        return x;
    }

    /// <summary>DPM-Solver++(2M): second order from the previous step's x0, in log σ.</summary>
    public static Tensor Dpmpp2M(SamplerRun s, Tensor x, double[] sigmas)
    {
        Tensor? old = null;
        x = Copy(x);
        try
        {
            for (int i = 0; i < sigmas.Length - 1; i++)
            {
                double sigma = sigmas[i], next = sigmas[i + 1];
                Tensor denoised = s.Denoise(x, sigma);
                s.Report(i, sigma, x, denoised);
                if (next == 0) Swap(ref x, Copy(denoised));
                else
                {
                    double h = Math.Log(sigma) - Math.Log(next), e = -Expm1(-h);
                    if (old is null) Swap(ref x, Lin((next / sigma, x), (e, denoised)));
                    else
                    {
                        double hLast = Math.Log(sigmas[i - 1]) - Math.Log(sigma), k = 1 / (2 * (hLast / h));
                        Swap(ref x, Lin((next / sigma, x), (e * (1 + k), denoised), (-e * k, old)));
                    }
                }
                old?.Dispose();
                old = denoised;
            }
            return x;
        }
        finally
        {
            old?.Dispose();
        }
    }

    /// <summary>DPM-Solver++(2M) SDE, midpoint or Heun correction, with Brownian noise.</summary>
    public static Tensor Dpmpp2MSde(SamplerRun s, Tensor x, double[] sigmas) => Dpmpp2MSde(s, x, sigmas, heun: false);

    public static Tensor Dpmpp2MSdeHeun(SamplerRun s, Tensor x, double[] sigmas) => Dpmpp2MSde(s, x, sigmas, heun: true);

    private static Tensor Dpmpp2MSde(SamplerRun s, Tensor x, double[] sigmas, bool heun)
    {
        Tensor? old = null;
        double hLast = 0;
        x = Copy(x);
        try
        {
            for (int i = 0; i < sigmas.Length - 1; i++)
            {
                double sigma = sigmas[i], next = sigmas[i + 1];
                Tensor denoised = s.Denoise(x, sigma);
                s.Report(i, sigma, x, denoised);
                double h = hLast;
                if (next == 0) Swap(ref x, Copy(denoised));
                else
                {
                    h = Math.Log(sigma) - Math.Log(next);
                    double etaH = s.Eta * h, e = -Expm1(-h - etaH);
                    double decay = next / sigma * Math.Exp(-etaH);
                    if (old is null) Swap(ref x, Lin((decay, x), (e, denoised)));
                    else
                    {
                        double c = (heun ? e / (-h - etaH) + 1 : 0.5 * e) * (h / hLast);
                        Swap(ref x, Lin((decay, x), (e + c, denoised), (-c, old)));
                    }
                    if (s.Eta != 0)
                        AddNoise(ref x, s.Brownian(sigma, next, sigmas), next * Math.Sqrt(-Expm1(-2 * etaH)) * s.SNoise);
                }
                old?.Dispose();
                old = denoised;
                hLast = h;
            }
            return x;
        }
        finally
        {
            old?.Dispose();
        }
    }

    /// <summary>DPM-Solver++(3M) SDE: third order from the last two x0 estimates, with Brownian noise.</summary>
    public static Tensor Dpmpp3MSde(SamplerRun s, Tensor x, double[] sigmas)
    {
        Tensor? d1 = null, d2 = null;
        double h1 = 0, h2 = 0;
        x = Copy(x);
        try
        {
            for (int i = 0; i < sigmas.Length - 1; i++)
            {
                double sigma = sigmas[i], next = sigmas[i + 1];
                Tensor denoised = s.Denoise(x, sigma);
                s.Report(i, sigma, x, denoised);
                double h = h1;
                if (next == 0) Swap(ref x, Copy(denoised));
                else
                {
                    h = Math.Log(sigma) - Math.Log(next);
                    double hEta = h * (s.Eta + 1), e = -Expm1(-hEta);
                    double phi2 = Expm1(-hEta) / hEta + 1;
                    if (d2 is not null)
                    {
                        // d1_0 = (D − D1)/r0, d1_1 = (D1 − D2)/r1, then the Taylor terms φ₂·d1 − φ₃·d2
                        double r0 = h1 / h, r1 = h2 / h, phi3 = phi2 / hEta - 0.5;
                        double a = 1 / r0, b = 1 / r1, w = r0 / (r0 + r1), v = 1 / (r0 + r1);
                        // d1 = d1_0 + (d1_0 − d1_1)·w ; d2 = (d1_0 − d1_1)·v ; x += φ₂·d1 − φ₃·d2
                        double c0 = phi2 * (1 + w) - phi3 * v, c1 = phi3 * v - phi2 * w;
                        Swap(ref x, Lin((Math.Exp(-hEta), x), (e + c0 * a, denoised), (-c0 * a + c1 * b, d1!), (-c1 * b, d2)));
                    }
                    else if (d1 is not null)
                    {
                        double c = phi2 * (h / h1);
                        Swap(ref x, Lin((Math.Exp(-hEta), x), (e + c, denoised), (-c, d1)));
                    }
                    else Swap(ref x, Lin((Math.Exp(-hEta), x), (e, denoised)));
                    if (s.Eta != 0)
                        AddNoise(ref x, s.Brownian(sigma, next, sigmas), next * Math.Sqrt(-Expm1(-2 * h * s.Eta)) * s.SNoise);
                }
                d2?.Dispose();
                (d1, d2) = (denoised, d1);
                (h1, h2) = (h, h1);
            }
            return x;
        }
        finally
        {
            d1?.Dispose();
            d2?.Dispose();
        }
    }

    /// <summary>A1111's LCM: jump to the model's x0, then renoise to the next σ.</summary>
    public static Tensor Lcm(SamplerRun s, Tensor x, double[] sigmas)
    {
        x = Copy(x);
        for (int i = 0; i < sigmas.Length - 1; i++)
        {
            Tensor denoised = s.Denoise(x, sigmas[i]);
            s.Report(i, sigmas[i], x, denoised);
            Swap(ref x, denoised);
            if (sigmas[i + 1] > 0) AddNoise(ref x, s.Noise(), sigmas[i + 1]);
        }
        return x;
    }

    /// <summary>
    /// A1111's Restart sampler (Xu et al. 2023) with its automatic restart list: from 20 steps on, the Karras
    /// schedule is rebuilt with fewer steps and a stretch near σ = 0.1 is re-run after renoising up to σ ≈ 2.
    /// </summary>
    public static Tensor Restart(SamplerRun s, Tensor x, double[] sigmas)
    {
        int steps = sigmas.Length - 1;
        var restarts = new Dictionary<int, (int Steps, int Times, double Max)>();
        if (steps >= 20)
        {
            int restartSteps = 9, restartTimes = 1;
            if (steps >= 36) { restartSteps = steps / 4; restartTimes = 2; }
            sigmas = KarrasSigmas(steps - restartSteps * restartTimes, sigmas[^2], sigmas[0]);
            restarts[Nearest(sigmas, 0.1)] = (restartSteps + 1, restartTimes, 2);
        }

        var pairs = new List<(double From, double To)>();
        for (int i = 0; i < sigmas.Length - 1; i++)
        {
            pairs.Add((sigmas[i], sigmas[i + 1]));
            if (!restarts.TryGetValue(i + 1, out var restart)) continue;
            int minIndex = i + 1, maxIndex = Nearest(sigmas, restart.Max);
            if (maxIndex >= minIndex) continue;
            double[] restartSigmas = KarrasSigmas(restart.Steps, sigmas[minIndex], sigmas[maxIndex])[..^1];
            for (int k = 0; k < restart.Times; k++)
                for (int j = 0; j < restartSigmas.Length - 1; j++) pairs.Add((restartSigmas[j], restartSigmas[j + 1]));
        }

        s.Total = pairs.Count;
        x = Copy(x);
        double? last = null;
        for (int step = 0; step < pairs.Count; step++)
        {
            var (from, to) = pairs[step];
            if (last is double l && l < from) AddNoise(ref x, s.Noise(), Math.Sqrt(from * from - l * l));
            last ??= from;
            using Tensor denoised = s.Denoise(x, from);
            s.Report(step, from, x, denoised);
            double r = to / from;
            if (to == 0) Swap(ref x, Lin((r, x), (1 - r, denoised)));
            else
            {
                using Tensor x2 = Lin((r, x), (1 - r, denoised));
                using Tensor denoised2 = s.Denoise(x2, to);
                double dt = to - from, a = dt / (2 * from), b = dt / (2 * to);
                Swap(ref x, Lin((1 + a, x), (-a, denoised), (b, x2), (-b, denoised2)));
            }
            last = to;
        }
        return x;
    }

    private static double[] KarrasSigmas(int n, double sigmaMin, double sigmaMax) =>
        Schedules.Karras(new ScheduleInput(n, sigmaMin, sigmaMax, 7.0, NoiseSchedule.StableDiffusion, false, 0, 0));

    /// <summary>torch.argmin(|σ − value|): the first index of the nearest σ.</summary>
    private static int Nearest(double[] sigmas, double value)
    {
        int best = 0;
        for (int i = 1; i < sigmas.Length; i++)
            if (MathF.Abs((float)sigmas[i] - (float)value) < MathF.Abs((float)sigmas[best] - (float)value)) best = i;
        return best;
    }

    /// <summary>x += scale·noise, disposing the noise.</summary>
    internal static void AddNoise(ref Tensor x, Tensor noise, double scale)
    {
        using (noise) Swap(ref x, Lin((1, x), (scale, noise)));
    }

    /// <summary>A private copy, so the loop can dispose its x freely and the caller keeps its input.</summary>
    internal static Tensor Copy(Tensor x) => x.Backend.Affine(x, 1f);
}
