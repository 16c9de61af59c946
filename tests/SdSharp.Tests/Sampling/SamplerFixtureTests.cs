using System.Text.Json;
using SdSharp.Sampling;
using SdSharp.Sampling.Random;
using SdSharp.Tensors;
using static SdSharp.Tests.Sampling.SamplingFixture;

namespace SdSharp.Tests.Sampling;

/// <summary>
/// Every sampler against A1111 1.10.1 run on the same analytic model, seeds and noise streams: txt2img and
/// img2img through <see cref="SamplingPlan"/>, churn, eta, v-prediction, NV noise and Brownian noise.
/// </summary>
public class SamplerFixtureTests
{
    /// <summary>
    /// A1111 computes step coefficients in float32 tensors and we in double, so results agree to rounding,
    /// not to the bit; 1e-5 of the latent's scale is far below anything an image shows.
    /// </summary>
    private const double Tolerance = 1e-5;

    public static TheoryData<int, string> Rows => SamplingFixture.Rows("samplers", Describe);

    [Theory]
    [MemberData(nameof(Rows))]
    public void MatchesA1111(int index, string description)
    {
        JsonElement c = Cases("samplers")[index];
        var run = Run(c);
        if (c.TryGetProperty("sigmas", out JsonElement sigmas))
        {
            var (sigmaError, at) = RelativeError([.. run.Plan.Sigmas.Select(s => (float)s)], Floats(sigmas));
            Assert.True(sigmaError <= 1e-6, $"{description}: σ[{at}] off by {sigmaError:G3} relative");
        }
        var (error, i) = RelativeError(run.Result, Floats(c.GetProperty("result")));
        // DPM++ SDE queries its Brownian tree at exp(−(−ln σ)) in float32; where .NET's expf/logf and torch's SLEEF
        // round that round trip differently, the 6-decimal rounding of the query can pick a neighbouring split.
        double tolerance = c.GetProperty("sampler").GetString() == "DPM++ SDE" ? 1e-3 : Tolerance;
        Assert.True(error <= tolerance, $"{description}: max error {error:G3} (relative to the largest value) at {i}");
    }

    [Fact]
    public void ModelCallsAreOnePerStepOrTwoForSecondOrder()
    {
        // DDIM with 20 steps has 20 timesteps and makes 19 calls; Heun makes two per step but one onto σ = 0.
        Assert.Equal(19, Run(Case("DDIM", 20)).Calls);
        Assert.Equal(10, Run(Case("Euler", 10)).Calls);
        Assert.Equal(19, Run(Case("Heun", 10)).Calls);
        Assert.Equal(20, Run(Case("PLMS", 20)).Calls);
        Assert.Equal(10, Run(Case("UniPC", 10)).Calls);
    }

    [Fact]
    public void ProgressReportsEveryStepAndCancellationStopsBeforeTheNextModelCall()
    {
        using var cts = new CancellationTokenSource();
        var steps = new List<int>();
        var (plan, ctx, x) = Setup(Case("Euler a", 8));
        ctx = ctx with
        {
            Cancellation = cts.Token,
            Progress = p => { steps.Add(p.Step); Assert.Equal(8, p.Total); if (p.Step == 2) cts.Cancel(); },
        };
        using (x) Assert.Throws<OperationCanceledException>(() => plan.Run(ctx, x).Dispose());
        Assert.Equal([0, 1, 2], steps);
    }

    private static JsonElement Case(string sampler, int steps) =>
        JsonDocument.Parse($$"""{"sampler":"{{sampler}}","steps":{{steps}},"seeds":[5,6]}""").RootElement;

    private sealed record Outcome(SamplingPlan Plan, float[] Result, int Calls);

    private static Outcome Run(JsonElement c)
    {
        var (plan, ctx, x) = Setup(c);
        using (x)
        using (Tensor result = plan.Run(ctx, x))
            return new Outcome(plan, result.ToArray(), ((AnalyticDenoiser)ctx.Denoiser).Calls);
    }

    private static (SamplingPlan, SamplerContext, Tensor) Setup(JsonElement c)
    {
        var backend = TestBackend.Cpu;
        NoiseShape shape = SamplingFixture.Shape;
        long[] seeds = [.. c.GetProperty("seeds").EnumerateArray().Select(e => e.GetInt64())];
        string? schedule = c.TryGetProperty("schedule", out var s) ? s.GetString() : null;
        var (sampler, type) = SamplerInfo.Resolve(c.GetProperty("sampler").GetString(), schedule);
        int steps = c.GetProperty("steps").GetInt32();
        NoiseSchedule model = NoiseSchedule.StableDiffusion;
        SamplingPlan plan = c.TryGetProperty("strength", out var strength)
            ? SamplingPlan.Img2Img(sampler, type, steps, strength.GetDouble(), model,
                fixSteps: c.TryGetProperty("fix_steps", out var fix) && fix.GetBoolean())
            : SamplingPlan.Txt2Img(sampler, type, steps, model);

        var kind = c.TryGetProperty("rng", out var rng) ? NoiseSources.Parse(rng.GetString()!) : NoiseSourceKind.Cpu;
        var images = new ImageNoise(kind, shape, seeds);
        Tensor x;
        using (Tensor noise = TestBackend.Stack(images.Next(), shape))
        {
            Tensor? init = plan.InitScale == 0 ? null
                : TestBackend.Stack([.. seeds.Select(_ => SamplingFixture.Init)], shape);
            x = plan.StartLatent(noise, init);
            init?.Dispose();
        }

        var prediction = c.TryGetProperty("prediction", out var p) && p.GetString() == "v" ? Prediction.V : Prediction.Epsilon;
        double Get(string name, double fallback) => c.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;
        var ctx = new SamplerContext
        {
            Denoiser = new AnalyticDenoiser(backend, plan.Wrapper(prediction), AnalyticDenoiser.Mu(backend, seeds.Length), S2),
            Prediction = prediction,
            Noise = new SamplerNoise(kind, seeds, shape, images.Next, imgs => TestBackend.Stack(imgs, shape)),
            Options = new SamplerOptions
            {
                Eta = c.TryGetProperty("eta", out var eta) ? eta.GetDouble() : null,
                Churn = Get("s_churn", 0),
                TMin = Get("s_tmin", 0),
                TMax = Get("s_tmax", double.PositiveInfinity),
                NoiseScale = Get("s_noise", 1),
            },
        };
        return (plan, ctx, x);
    }

    private static string Describe(JsonElement c)
    {
        var parts = new List<string> { c.GetProperty("sampler").GetString()!, $"{c.GetProperty("steps").GetInt32()} steps" };
        foreach (string key in new[] { "schedule", "eta", "s_churn", "prediction", "rng", "strength", "fix_steps" })
            if (c.TryGetProperty(key, out var v)) parts.Add($"{key} {v}");
        parts.Add("seeds " + string.Join("+", c.GetProperty("seeds").EnumerateArray().Select(e => e.GetInt64())));
        return string.Join(", ", parts);
    }
}
