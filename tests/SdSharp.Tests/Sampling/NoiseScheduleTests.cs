using SdSharp.Sampling;
using static SdSharp.Tests.Sampling.SamplingFixture;

namespace SdSharp.Tests.Sampling;

public class NoiseScheduleTests
{
    private static readonly NoiseSchedule Sd = NoiseSchedule.StableDiffusion;

    [Fact]
    public void AlphasCumprodAreLdmsFloat32ValuesBitForBit()
    {
        float[] expected = Floats(Root.GetProperty("alphas_cumprod"));
        Assert.Equal(expected, Sd.AlphasCumprod.ToArray());
        Assert.Equal(0.0291675, Sd.SigmaMin, 6);
        Assert.Equal(14.614642, Sd.SigmaMax, 5);
    }

    [Fact]
    public void SigmaAndTimestepConversionsMatchKDiffusion()
    {
        var conversions = Root.GetProperty("conversions");
        foreach (var pair in conversions.GetProperty("sigma_to_t").EnumerateArray())
        {
            double sigma = (float)pair[0].GetDouble(), t = pair[1].GetDouble();
            Assert.True(Math.Abs(Sd.SigmaToT(sigma) - t) < 2e-4, $"σ {sigma}: t {Sd.SigmaToT(sigma)} vs {t}");
        }
        foreach (var pair in conversions.GetProperty("t_to_sigma").EnumerateArray())
        {
            double t = (float)pair[0].GetDouble(), sigma = pair[1].GetDouble();
            // torch interpolates in float32; the double result differs by a few float32 ulps at most
            Assert.True(Math.Abs(Sd.TToSigma(t) / sigma - 1) < 5e-7, $"t {t}: σ {Sd.TToSigma(t)} vs {sigma}");
        }
    }

    [Fact]
    public void TableSigmasMapBackToTheirExactTimestep()
    {
        for (int t = 0; t < Sd.Count; t++) Assert.Equal(t, Sd.SigmaToT(Sd.Sigmas[t]));
        for (int t = 0; t < Sd.Count; t++) Assert.Equal(Sd.Sigmas[t], (float)Sd.TToSigma(t));
    }

    [Fact]
    public void LcmUsesEveryTwentiethTimestepAndSnapsToIt()
    {
        NoiseSchedule lcm = Sd.ForLcm();
        Assert.Equal(50, lcm.Count);
        Assert.Equal(Sd.Sigmas[19], lcm.Sigmas[0]);
        Assert.Equal(Sd.Sigmas[999], lcm.Sigmas[49]);
        Assert.Equal(999, lcm.SigmaToT(lcm.SigmaMax));
        Assert.Equal(19, lcm.SigmaToT(0.0001));
        Assert.Equal(519, lcm.SigmaToT(Sd.Sigmas[515])); // nearest of 499, 519 in log σ
    }
}

public class SamplerNameTests
{
    [Theory]
    [InlineData("DPM++ 2M Karras", "DPM++ 2M", "Automatic")] // Karras is its default
    [InlineData("DPM++ 2M", "DPM++ 2M", "Automatic")]
    [InlineData("Euler a Karras", "Euler a", "Karras")]
    [InlineData("DPM++ 2M SDE Heun Exponential", "DPM++ 2M SDE Heun", "Automatic")]
    [InlineData("DPM++ SDE Karras", "DPM++ SDE", "Automatic")]
    [InlineData("DPM++ 2M SDE Karras", "DPM++ 2M SDE", "Karras")]
    [InlineData("LMS Karras", "LMS", "Karras")]
    [InlineData("Euler SGMUniform", "Euler", "SGM Uniform")] // aliases count as suffixes
    [InlineData("k_euler_a", "Euler a", "Automatic")]
    [InlineData("euler A", "Euler a", "Automatic")]
    [InlineData(null, "Euler", "Automatic")] // A1111's API default
    public void LegacyNamesSplitIntoSamplerAndSchedule(string? name, string sampler, string schedule)
    {
        var (s, t) = SamplerInfo.Resolve(name, null);
        Assert.Equal(sampler, s.Name);
        Assert.Equal(schedule, t.Label);
    }

    [Fact]
    public void AnExplicitScheduleStandsUnlessTheNameCarriesOne()
    {
        Assert.Equal("Exponential", SamplerInfo.Resolve("Euler", "Exponential").Schedule.Label);
        Assert.Equal("Karras", SamplerInfo.Resolve("Euler Karras", "Exponential").Schedule.Label);
        Assert.Equal("Automatic", SamplerInfo.Resolve("DPM++ 2M", "karras").Schedule.Label);
        Assert.Equal("Beta", SamplerInfo.Resolve("UniPC", "beta").Schedule.Label);
    }

    [Fact]
    public void UnknownNamesListTheValidOnes()
    {
        var e = Assert.Throws<InvalidInputException>(() => SamplerInfo.Resolve("Euler b", null));
        Assert.Contains("DPM++ 2M", e.Message);
        Assert.Contains("UniPC", e.Message);
        var s = Assert.Throws<InvalidInputException>(() => SamplerInfo.Resolve("Euler", "Karas"));
        Assert.Contains("Align Your Steps", s.Message);
    }

    [Fact]
    public void DefaultsFollowA1111()
    {
        Assert.Equal(ScheduleType.Karras, SamplerInfo.Find("DPM2 a")!.DefaultSchedule);
        Assert.True(SamplerInfo.Find("DPM++ 3M SDE")!.DiscardPenultimateSigma);
        Assert.Equal(ScheduleType.Exponential, SamplerInfo.Find("DPM++ 2M SDE Heun")!.DefaultSchedule);
        Assert.Equal(1, SamplerInfo.Find("Euler a")!.DefaultEta);
        Assert.Equal(0, SamplerInfo.Find("DDIM")!.DefaultEta);
        Assert.Equal("DPM++ 2M", SamplerInfo.All[0].Name);
    }
}

public class SamplingPlanTests
{
    [Theory]
    [InlineData(20, 0.75, false, 20, 15)]
    [InlineData(20, 1.0, false, 20, 19)] // strength is capped at .999
    [InlineData(20, 0.5, true, 40, 19)]  // img2img_fix_steps / hires: exactly 20 steps
    [InlineData(10, 0.3, true, 33, 9)]
    public void Img2ImgStepsFollowA1111(int steps, double strength, bool fix, int total, int tEnc) =>
        Assert.Equal((total, tEnc), SamplingPlan.Img2ImgSteps(steps, strength, fix));

    [Fact]
    public void Img2ImgRunsTheTailOfTheFullSchedule()
    {
        var euler = SamplerInfo.Find("Euler")!;
        var full = SamplingPlan.Txt2Img(euler, ScheduleType.Karras, 20, NoiseSchedule.StableDiffusion);
        var img = SamplingPlan.Img2Img(euler, ScheduleType.Karras, 20, 0.6, NoiseSchedule.StableDiffusion);
        Assert.Equal(full.Sigmas[(20 - 12 - 1)..], img.Sigmas);
        Assert.Equal(13, img.Steps);
        Assert.Equal(1, img.InitScale);
        Assert.Equal(img.Sigmas[0], img.NoiseScale);
    }

    [Fact]
    public void DiscardedPenultimateSigmaKeepsTheStepCount()
    {
        var plan = SamplingPlan.Txt2Img(SamplerInfo.Find("DPM2")!, ScheduleType.Automatic, 10, NoiseSchedule.StableDiffusion);
        Assert.Equal(11, plan.Sigmas.Length);
        Assert.Equal(0, plan.Sigmas[^1]);
    }

    [Fact]
    public void DdimHasOneTimestepPerStrideAndStartsFromTheNoiseItself()
    {
        var plan = SamplingPlan.Txt2Img(SamplerInfo.Find("DDIM")!, ScheduleType.Automatic, 30, NoiseSchedule.StableDiffusion);
        Assert.Equal(31, plan.Sigmas.Length); // range(0, 1000, 33) has 31 entries
        Assert.Equal(NoiseSchedule.StableDiffusion.Sigmas[991], plan.Sigmas[0]);
        Assert.Equal(NoiseSchedule.StableDiffusion.Sigmas[1], plan.Sigmas[^1]);
        Assert.Equal(Math.Sqrt(plan.Sigmas[0] * plan.Sigmas[0] + 1), plan.NoiseScale, 12);
    }

    [Fact]
    public void LmsCoefficientsIntegrateTheLagrangeBasis()
    {
        double[] sigmas = [.. new[] { 14.6, 9.1, 5.5, 3.2, 1.7, 0.9 }.Select(s => (double)(float)s)]; // float32 σ, as k-diffusion has them
        for (int i = 3; i < sigmas.Length - 1; i++)
        {
            double sum = Enumerable.Range(0, 4).Sum(j => SdSharp.Sampling.KDiffusionSamplers.LmsCoefficient(4, sigmas, i, j));
            Assert.Equal(sigmas[i + 1] - sigmas[i], sum, 6); // the basis sums to 1 (up to the float32 denominators)
        }
    }
}
