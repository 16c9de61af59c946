using SdSharp.Sampling.Random;

namespace SdSharp.Tests.Sampling.Random;

/// <summary>
/// Published torch outputs (printed to 4 decimals in countless tutorials) and the stream rules of
/// torch's CPU generator. Bit-exactness is checked against fixtures in <see cref="TorchFixtureTests"/>.
/// </summary>
public class TorchCpuGeneratorTests
{
    [Fact]
    public void ScalarPathMatchesPublishedSeed0Values()
    {
        // torch.manual_seed(0); torch.randn(2, 3)
        float[] values = new TorchCpuGenerator(0).Randn(6);
        AssertClose([1.5410f, -0.2934f, -2.1788f, 0.5684f, -1.0845f, -1.3986f], values, 1e-4f);
    }

    [Fact]
    public void ScalarPathMatchesPublishedSeed42Values()
    {
        // torch.manual_seed(42); torch.randn(2, 3)
        float[] values = new TorchCpuGenerator(42).Randn(6);
        AssertClose([0.3367f, 0.1288f, 0.2345f, 0.2303f, -1.1229f, -0.1863f], values, 1e-4f);
    }

    [Fact]
    public void VectorizedPathMatchesPublishedSeed0Values()
    {
        // torch.manual_seed(0); torch.randn(4, 4): 16 elements take the AVX2 Box–Muller kernel.
        float[] values = new TorchCpuGenerator(0).Randn(16);
        AssertClose(
        [
            -1.1258f, -1.1524f, -0.2506f, -0.4339f, 0.8487f, 0.6920f, -0.3160f, -2.1152f,
            0.3223f, -1.2633f, 0.3500f, 0.3081f, 0.1198f, 1.2377f, 1.1168f, -0.2473f,
        ], values, 1e-4f);
    }

    [Fact]
    public void RandMatchesPublishedSeed0Values()
    {
        // torch.manual_seed(0); torch.rand(3)
        var values = new float[3];
        new TorchCpuGenerator(0).Rand(values);
        AssertClose([0.4963f, 0.7682f, 0.0885f], values, 1e-4f);
    }

    [Fact]
    public void UniformsAre24BitFractions()
    {
        var gen = new TorchCpuGenerator(3);
        var engine = new Mt19937(3);
        var values = new float[100];
        gen.Rand(values);
        foreach (float v in values) Assert.Equal((engine.NextUInt32() & 0xFFFFFF) / 16777216f, v);
    }

    [Fact]
    public void SameSeedSameNoise()
    {
        Assert.Equal(new TorchCpuGenerator(12345).Randn(4 * 64 * 64), new TorchCpuGenerator(12345).Randn(4 * 64 * 64));
        Assert.NotEqual(new TorchCpuGenerator(12345).Randn(64), new TorchCpuGenerator(12346).Randn(64));
    }

    [Fact]
    public void SeedsDifferingAbove32BitsGiveTheSameNoise()
    {
        Assert.Equal(new TorchCpuGenerator(5).Randn(100), new TorchCpuGenerator((1UL << 32) + 5).Randn(100));
    }

    [Fact]
    public void VectorizedCallsContinueTheStream()
    {
        // Multiples of 16 use the uniforms in order, so one call of 32 equals two calls of 16.
        var gen = new TorchCpuGenerator(1);
        float[] joined = [.. gen.Randn(16), .. gen.Randn(16)];
        Assert.Equal(new TorchCpuGenerator(1).Randn(32), joined);
    }

    [Fact]
    public void TailIsRedrawnFromFreshUniforms()
    {
        // n = 17: 17 uniforms, one block over 0..15, then 16 fresh uniforms over slots 1..16.
        float[] seventeen = new TorchCpuGenerator(9).Randn(17);
        var reference = new TorchCpuGenerator(9);
        float[] firstBlock = reference.Randn(16);
        reference.NextUInt32(); // the 17th uniform, overwritten by the tail
        float[] tail = reference.Randn(16);
        Assert.Equal(firstBlock[0], seventeen[0]);
        Assert.Equal(tail, seventeen[1..]);
    }

    [Fact]
    public void ScalarCacheCarriesAcrossCalls()
    {
        var split = new TorchCpuGenerator(77);
        float[] joined = [.. split.Randn(1), .. split.Randn(3), .. split.Randn(2)];
        Assert.Equal(new TorchCpuGenerator(77).Randn(6), joined);
    }

    [Fact]
    public void VectorizedCallLeavesTheScalarCacheAlone()
    {
        // torch's AVX2 kernel neither reads nor clears the cached Box–Muller value.
        var gen = new TorchCpuGenerator(5);
        float[] first = gen.Randn(1);
        gen.Randn(32);
        float cached = gen.Randn(1)[0];
        Assert.Equal(new TorchCpuGenerator(5).Randn(2)[1], cached);
        Assert.NotEqual(first[0], cached);
    }

    [Fact]
    public void ManualSeedClearsTheCache()
    {
        var gen = new TorchCpuGenerator(5);
        gen.Randn(1);
        gen.ManualSeed(5);
        Assert.Equal(new TorchCpuGenerator(5).Randn(1), gen.Randn(1));
        Assert.Equal(5UL, gen.Seed);
    }

    [Fact]
    public void LargeDrawLooksStandardNormal()
    {
        float[] values = new TorchCpuGenerator(2024).Randn(2 * 4 * 128 * 128 + 7);
        double mean = values.Average(v => (double)v);
        double variance = values.Average(v => ((double)v - mean) * ((double)v - mean));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
    }

    internal static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"element {i}: expected {expected[i]}, got {actual[i]}");
    }
}
