using SdSharp.Tensors;
using static SdSharp.Sampling.SamplerRun;

namespace SdSharp.Sampling;

/// <summary>
/// A1111's timestep samplers (<c>sd_samplers_timesteps_impl.py</c>, <c>uni_pc.py</c>), which work on the DDPM
/// latent x_t = √ᾱ·x0 + √(1−ᾱ)·ε. They take x in k-diffusion scaling at σ₀ (x_t = x/√(σ₀² + 1)), call the model
/// through D at table σ so it sees A1111's timesteps and inputs, and return their final DDPM latent unscaled:
/// that is the latent A1111 decodes (DDIM and PLMS stop at timestep 1, UniPC at 0, not at σ = 0).
/// </summary>
internal static class TimestepSamplers
{
    /// <summary>
    /// DDIM. One model call per σ pair, from each σ's timestep t to the next one t': A1111's DDIM makes one call
    /// fewer than its timestep list. Noise σₜ·ε is drawn every step, as A1111 does, even when eta = 0.
    /// </summary>
    public static Tensor Ddim(SamplerRun s, Tensor x, double[] sigmas)
    {
        if (sigmas.Length == 0) return KDiffusionSamplers.Copy(x);
        x = ToDdpm(x, sigmas[0]);
        for (int i = 0; i < sigmas.Length - 1; i++)
        {
            double a = Alpha(s, sigmas[i]), aPrev = Alpha(s, sigmas[i + 1]);
            double sigmaT = s.Eta * Math.Sqrt((1 - aPrev) / (1 - a) * (1 - a / aPrev));
            Tensor denoised = s.Denoise(Scaled(x, sigmas[i]), sigmas[i]);
            // pred_x0 = (x − √(1−a)·ε)/√a is D itself; ε = (x − √a·D)/√(1−a)
            using Tensor eps = Lin((1 / Math.Sqrt(1 - a), x), (-Math.Sqrt(a) / Math.Sqrt(1 - a), denoised));
            Tensor next = Lin((Math.Sqrt(aPrev), denoised), (Math.Sqrt(1 - aPrev - sigmaT * sigmaT), eps));
            Swap(ref x, next);
            if (sigmaT != 0) KDiffusionSamplers.AddNoise(ref x, s.Noise(), sigmaT);
            else s.SkipNoise();
            s.Report(i, sigmas[i], x, denoised);
            denoised.Dispose();
        }
        return x;
    }

    /// <summary>
    /// PLMS: a pseudo improved-Euler first step (two model calls), then Adams–Bashforth on ε of orders 2, 3, 4.
    /// </summary>
    public static Tensor Plms(SamplerRun s, Tensor x, double[] sigmas)
    {
        if (sigmas.Length == 0) return KDiffusionSamplers.Copy(x);
        x = ToDdpm(x, sigmas[0]);
        var oldEps = new List<Tensor>();
        try
        {
            for (int i = 0; i < sigmas.Length - 1; i++)
            {
                double a = Alpha(s, sigmas[i]), aPrev = Alpha(s, sigmas[i + 1]);
                Tensor eps = Eps(s, x, sigmas[i], a);
                Tensor epsPrime;
                if (oldEps.Count == 0)
                {
                    using Tensor xPrev = Step(x, eps, a, aPrev, out Tensor pred);
                    pred.Dispose();
                    using Tensor epsNext = Eps(s, xPrev, sigmas[i + 1], aPrev);
                    epsPrime = Lin((0.5, eps), (0.5, epsNext));
                }
                else if (oldEps.Count == 1) epsPrime = Lin((1.5, eps), (-0.5, oldEps[^1]));
                else if (oldEps.Count == 2) epsPrime = Lin((23.0 / 12, eps), (-16.0 / 12, oldEps[^1]), (5.0 / 12, oldEps[^2]));
                else epsPrime = Lin((55.0 / 24, eps), (-59.0 / 24, oldEps[^1]), (37.0 / 24, oldEps[^2]), (-9.0 / 24, oldEps[^3]));

                Tensor next = Step(x, epsPrime, a, aPrev, out Tensor predX0);
                epsPrime.Dispose();
                oldEps.Add(eps);
                if (oldEps.Count >= 4) { oldEps[0].Dispose(); oldEps.RemoveAt(0); }
                Swap(ref x, next);
                using (predX0) s.Report(i, sigmas[i], x, predX0);
            }
            return x;
        }
        finally
        {
            foreach (Tensor e in oldEps) e.Dispose();
        }
    }

    /// <summary>PLMS's <c>get_x_prev_and_pred_x0</c>.</summary>
    private static Tensor Step(Tensor x, Tensor eps, double a, double aPrev, out Tensor predX0)
    {
        predX0 = Lin((1 / Math.Sqrt(a), x), (-Math.Sqrt(1 - a) / Math.Sqrt(a), eps));
        return Lin((Math.Sqrt(aPrev), predX0), (Math.Sqrt(1 - aPrev), eps));
    }

    /// <summary>The model's ε for a DDPM latent at the timestep of σ (via D in k-diffusion scaling).</summary>
    internal static Tensor Eps(SamplerRun s, Tensor xDdpm, double sigma, double alpha)
    {
        using Tensor denoised = s.Denoise(Scaled(xDdpm, sigma), sigma);
        return Lin((1 / Math.Sqrt(1 - alpha), xDdpm), (-Math.Sqrt(alpha) / Math.Sqrt(1 - alpha), denoised));
    }

    /// <summary>ᾱ of the table timestep whose σ this is (exact for table σ).</summary>
    private static double Alpha(SamplerRun s, double sigma) =>
        s.Schedule.AlphasCumprod[(int)Math.Round(s.Schedule.SigmaToT(sigma))];

    /// <summary>x_t → x in k-diffusion scaling at σ: x·√(σ² + 1).</summary>
    internal static Tensor Scaled(Tensor xDdpm, double sigma) => Lin((Math.Sqrt(sigma * sigma + 1), xDdpm));

    /// <summary>The sampler's entry: x in k-diffusion scaling at σ₀ → the DDPM latent.</summary>
    internal static Tensor ToDdpm(Tensor x, double sigma0) => Lin((1 / Math.Sqrt(sigma0 * sigma0 + 1), x));
}
