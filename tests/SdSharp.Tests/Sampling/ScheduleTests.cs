using System.Text.Json;
using SdSharp.Sampling;
using static SdSharp.Tests.Sampling.SamplingFixture;

namespace SdSharp.Tests.Sampling;

public class ScheduleTests
{
    public static TheoryData<int, string> Rows => SamplingFixture.Rows("schedules", c =>
        $"{c.GetProperty("schedule").GetString()}, {c.GetProperty("steps")} steps"
        + (c.TryGetProperty("sdxl", out var x) && x.GetBoolean() ? ", SDXL" : "")
        + (c.TryGetProperty("lcm", out _) ? ", LCM table" : ""));

    [Theory]
    [MemberData(nameof(Rows))]
    public void MatchesA1111ToTheLastBitOrOneUlp(int index, string description)
    {
        JsonElement c = Cases("schedules")[index];
        bool lcm = c.TryGetProperty("lcm", out _);
        bool sdxl = c.TryGetProperty("sdxl", out var s) && s.GetBoolean();
        var sampler = SamplerInfo.Find(lcm ? "LCM" : "Euler")!;
        SamplingPlan plan = SamplingPlan.Txt2Img(sampler, ScheduleType.Parse(c.GetProperty("schedule").GetString()),
            c.GetProperty("steps").GetInt32(), NoiseSchedule.StableDiffusion, sdxl);
        float[] expected = Floats(c.GetProperty("sigmas"));
        float[] actual = [.. plan.Sigmas.Select(v => (float)v)];
        Assert.Equal(expected.Length, actual.Length);
        // torch's float32 steps are repeated exactly; exp/log/tan come from .NET (glibc) where torch 1.13 uses
        // SLEEF (and A1111's pip torch MKL), which round differently in the last bit now and then.
        int[] ulps = [.. actual.Zip(expected).Select(p => Math.Abs(BitConverter.SingleToInt32Bits(p.First) - BitConverter.SingleToInt32Bits(p.Second)))];
        Assert.True(ulps.Max() <= 1, $"{description}: σ off by up to {ulps.Max()} ulp at {Array.IndexOf(ulps, ulps.Max())}");
    }
}
