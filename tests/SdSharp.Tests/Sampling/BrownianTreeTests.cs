using System.Numerics;
using System.Text.Json;
using SdSharp.Sampling;
using SdSharp.Sampling.Random;
using SdSharp.Tensors;
using static SdSharp.Tests.Sampling.SamplingFixture;

namespace SdSharp.Tests.Sampling;

public class SeedSequenceTests
{
    public static TheoryData<int, string> Rows => SamplingFixture.Rows("seed_sequences",
        c => $"entropy {c.GetProperty("entropy").GetString()}, key [{string.Join(",", c.GetProperty("spawn_key").EnumerateArray())}], pool {c.GetProperty("pool")}");

    [Theory]
    [MemberData(nameof(Rows))]
    public void MatchesNumpy(int index, string description)
    {
        JsonElement c = Cases("seed_sequences")[index];
        var seq = new SeedSequence(BigInteger.Parse(c.GetProperty("entropy").GetString()!),
            [.. c.GetProperty("spawn_key").EnumerateArray().Select(e => new BigInteger(e.GetInt64()))],
            c.GetProperty("pool").GetInt32());
        uint[] expected = [.. c.GetProperty("state").EnumerateArray().Select(e => e.GetUInt32())];
        Assert.True(expected.SequenceEqual(seq.GenerateState(expected.Length)), description);
    }
}

public class BrownianTreeTests
{
    public static TheoryData<int, string> Rows => SamplingFixture.Rows("brownian",
        c => $"{c.GetProperty("rng").GetString()} seed {c.GetProperty("seed")} on [{c.GetProperty("t0")}, {c.GetProperty("t1")}]");

    /// <summary>torchsde's tree with A1111's randn_local, bit for bit.</summary>
    [Theory]
    [MemberData(nameof(Rows))]
    public void NoiseMatchesTorchsdeBitForBit(int index, string description)
    {
        JsonElement c = Cases("brownian")[index];
        NoiseShape shape = SamplingFixture.Shape;
        var kind = NoiseSources.Parse(c.GetProperty("rng").GetString()!);
        long seed = c.GetProperty("seed").GetInt64();
        var noise = new SamplerNoise(kind, [seed], shape, () => throw new InvalidOperationException(),
            images => TestBackend.Stack(images, shape));
        BrownianNoise brownian = noise.Brownian((float)c.GetProperty("t0").GetDouble(), (float)c.GetProperty("t1").GetDouble());
        var failures = new List<string>();
        foreach (JsonElement q in c.GetProperty("queries").EnumerateArray())
        {
            double a = (float)q.GetProperty("sigma").GetDouble(), b = (float)q.GetProperty("sigma_next").GetDouble();
            using Tensor sample = brownian.Sample(a, b);
            float[] actual = sample.ToArray(), expected = Floats(q.GetProperty("noise"));
            int differ = actual.Zip(expected).Count(p => BitConverter.SingleToInt32Bits(p.First) != BitConverter.SingleToInt32Bits(p.Second));
            if (differ > 0)
                failures.Add($"{a} → {b}: {differ} of {expected.Length} differ, max {actual.Zip(expected).Max(p => Math.Abs(p.First - p.Second)):G3}");
        }
        Assert.True(failures.Count == 0, description + ":\n" + string.Join("\n", failures));
    }

    [Theory]
    [InlineData(0.0292, 0.0292)]
    [InlineData(14.6146431, 14.614643)]
    [InlineData(0.0078125, 0.007812)] // an exact tie: half to even, as Python's round
    [InlineData(0.0078135, 0.007813)] // just below the half: the double is 0.00781349999…
    [InlineData(2.5e-7, 0.0)]
    [InlineData(1.2345675, 1.234568)]
    public void RoundsToSixDecimalsLikePython(double x, double expected) => Assert.Equal(expected, BrownianTree.Round(x));
}
