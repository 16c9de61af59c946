using SdSharp.Sampling.Random;

namespace SdSharp.Tests.Sampling.Random;

/// <summary>Bit-exact agreement with torch 2.11's CPU randn (x86, AVX-512 machine) and A1111's Philox.</summary>
public class FixtureTests
{
    private static readonly Lazy<IReadOnlyList<RngFixtureCase>> TorchCases = new(() => RngFixture.Load("torch_randn.json"));
    private static readonly Lazy<IReadOnlyList<RngFixtureCase>> PhiloxCases = new(() => RngFixture.Load("philox.json"));

    public static TheoryData<int, string> TorchRows => RngFixture.Rows("torch_randn.json");
    public static TheoryData<int, string> PhiloxRows => RngFixture.Rows("philox.json");

    [Theory]
    [MemberData(nameof(TorchRows))]
    public void TorchRandnIsBitExact(int index, string description)
    {
        RngFixtureCase c = TorchCases.Value[index];
        var gen = new TorchCpuGenerator(c.Seed);
        AssertDraws(c, gen, description);
    }

    [Theory]
    [MemberData(nameof(PhiloxRows))]
    public void PhiloxIsBitExact(int index, string description)
    {
        RngFixtureCase c = PhiloxCases.Value[index];
        AssertDraws(c, new PhiloxGenerator(c.Seed), description);
    }

    private static void AssertDraws(RngFixtureCase c, INoiseSource gen, string description)
    {
        var failures = new List<string>();
        for (int d = 0; d < c.Draws.Count; d++)
        {
            string? problem = c.Draws[d].Compare(gen.Randn(c.Draws[d].Count));
            if (problem is not null) failures.Add($"draw {d} (count {c.Draws[d].Count}): {problem}");
        }
        Assert.True(failures.Count == 0, $"{description}:\n" + string.Join("\n", failures));
    }
}

public class RngFixtureTests
{
    [Fact]
    public void ComparisonCatchesASingleBitFlip()
    {
        RngFixtureCase c = RngFixture.Load("torch_randn.json").First(x => x.Draws[0].Count == 100);
        float[] values = new TorchCpuGenerator(c.Seed).Randn(100);
        Assert.Null(c.Draws[0].Compare(values));

        values[0] = BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(values[0]) ^ 1);
        string? problem = c.Draws[0].Compare(values);
        Assert.NotNull(problem);
        Assert.Contains("1 of", problem);
    }

    [Fact]
    public void FixturesCoverBothPathsAndLargeSeeds()
    {
        var cases = RngFixture.Load("torch_randn.json");
        Assert.Contains(cases, c => c.Draws.Any(d => d.Count < TorchCpuGenerator.VectorizedMinimum));
        Assert.Contains(cases, c => c.Draws.Any(d => d.Count % 16 != 0 && d.Count > 16));
        Assert.Contains(cases, c => c.Seed >= 1UL << 32);
    }
}
