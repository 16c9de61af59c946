using SdSharp.Sampling.Random;

namespace SdSharp.Tests.Sampling.Random;

public class ImageNoiseTests
{
    private static readonly NoiseShape Shape = new(4, 8, 8);

    [Theory]
    [InlineData(NoiseSourceKind.Cpu)]
    [InlineData(NoiseSourceKind.Nv)]
    public void EachImageHasItsOwnStream(NoiseSourceKind kind)
    {
        var noise = new ImageNoise(kind, Shape, [100, 101]);
        float[][] first = noise.Next();
        float[][] second = noise.Next();

        for (int i = 0; i < 2; i++)
        {
            var own = NoiseSources.Create(kind, 100L + i);
            Assert.Equal(own.Randn(Shape.Count), first[i]);
            Assert.Equal(own.Randn(Shape.Count), second[i]);
        }
    }

    [Fact]
    public void EtaNoiseSeedDeltaRestartsSamplerNoiseFromSeedPlusDelta()
    {
        var noise = new ImageNoise(NoiseSourceKind.Cpu, Shape, [7], etaNoiseSeedDelta: 31337);
        float[] initial = noise.Next()[0];
        float[] samplerNoise = noise.Next()[0];

        Assert.Equal(new TorchCpuGenerator(7).Randn(Shape.Count), initial);
        Assert.Equal(new TorchCpuGenerator(7 + 31337).Randn(Shape.Count), samplerNoise);
    }

    [Fact]
    public void FullVariationStrengthGivesTheSubseedsNoise()
    {
        var noise = new ImageNoise(NoiseSourceKind.Cpu, Shape, [1], subseeds: [2], subseedStrength: 1.0);
        Assert.Equal(new TorchCpuGenerator(2).Randn(Shape.Count), noise.Next()[0]);
    }

    [Fact]
    public void MissingSubseedsCountAsZero()
    {
        var noise = new ImageNoise(NoiseSourceKind.Nv, Shape, [1, 2], subseeds: [5], subseedStrength: 1.0);
        float[][] images = noise.Next();
        Assert.Equal(new PhiloxGenerator(5).Randn(Shape.Count), images[0]);
        Assert.Equal(new PhiloxGenerator(0).Randn(Shape.Count), images[1]);
    }

    [Fact]
    public void VariationSeedsLeaveTheSamplerStreamAlone()
    {
        var noise = new ImageNoise(NoiseSourceKind.Cpu, Shape, [3], subseeds: [4], subseedStrength: 0.3);
        noise.Next();
        var own = new TorchCpuGenerator(3);
        own.Randn(Shape.Count);
        Assert.Equal(own.Randn(Shape.Count), noise.Next()[0]);
    }

    [Fact]
    public void ResizedSeedIsCentredInTheFullSizeNoise()
    {
        // Seed made for 48×32 pixels (6×4 latent), image 64×64 (8×8 latent).
        var noise = new ImageNoise(NoiseSourceKind.Cpu, Shape, [11], seedResizeFromHeight: 32, seedResizeFromWidth: 48);
        float[] result = noise.Next()[0];

        var small = new NoiseShape(4, 4, 6);
        float[] seedNoise = new TorchCpuGenerator(11).Randn(small.Count);
        var full = new TorchCpuGenerator(11);
        full.Randn(small.Count);  // the image's own generator, fresh: same first values
        float[] background = new TorchCpuGenerator(11).Randn(Shape.Count);

        for (int c = 0; c < 4; c++)
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    int i = (c * 8 + y) * 8 + x;
                    bool inside = y is >= 2 and < 6 && x is >= 1 and < 7;
                    float expected = inside ? seedNoise[(c * 4 + y - 2) * 6 + x - 1] : background[i];
                    Assert.Equal(expected, result[i]);
                }
    }

    [Fact]
    public void LargerResizedSeedIsCroppedWithFloorOffsets()
    {
        // 9 rows into 8: the offset is floor(−1 / 2) = −1, so rows 1..7 of the seed noise land on rows 0..6.
        var from = new NoiseShape(1, 9, 9);
        var to = new NoiseShape(1, 8, 8);
        float[] source = [.. Enumerable.Range(0, 81).Select(i => (float)i)];
        var target = new float[64];
        Array.Fill(target, -1f);
        ImageNoise.PasteCentered(source, from, target, to);

        Assert.Equal(source[1 * 9 + 1], target[0]);
        Assert.Equal(source[7 * 9 + 7], target[6 * 8 + 6]);
        Assert.Equal(-1f, target[7 * 8 + 7]);
    }

    [Fact]
    public void SeedListsFollowA1111()
    {
        Assert.Equal([10L, 11, 12], SeedList.Seeds(10, 3));
        Assert.Equal([10L, 10, 10], SeedList.Seeds(10, 3, subseedStrength: 0.5));
        Assert.Equal([20L, 21, 22], SeedList.Subseeds(20, 3));
        Assert.Equal([12L, 13], SeedList.Batch([10, 11, 12, 13, 14], batchIndex: 1, batchSize: 2));
    }

    [Theory]
    [InlineData("cpu", NoiseSourceKind.Cpu)]
    [InlineData("CPU", NoiseSourceKind.Cpu)]
    [InlineData("NV", NoiseSourceKind.Nv)]
    [InlineData("GPU", NoiseSourceKind.Nv)]
    public void ParsesA1111Names(string name, NoiseSourceKind kind) => Assert.Equal(kind, NoiseSources.Parse(name));

    [Fact]
    public void RejectsUnknownNames() => Assert.Throws<InvalidInputException>(() => NoiseSources.Parse("mps"));

    [Fact]
    public void NegativeSeedsAreTwosComplement()
    {
        Assert.Equal(ulong.MaxValue, NoiseSources.Create(NoiseSourceKind.Cpu, -1L).Seed);
    }
}
