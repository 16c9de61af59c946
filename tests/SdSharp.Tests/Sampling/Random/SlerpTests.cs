using SdSharp.Sampling.Random;

namespace SdSharp.Tests.Sampling.Random;

public class SlerpTests
{
    private static readonly NoiseShape Shape = new(4, 16, 16);

    [Fact]
    public void EndpointsGiveEachInput()
    {
        float[] low = new TorchCpuGenerator(1).Randn(Shape.Count);
        float[] high = new TorchCpuGenerator(2).Randn(Shape.Count);
        Assert.Equal(low, Slerp.Blend(0, low, high, Shape));
        Assert.Equal(high, Slerp.Blend(1, low, high, Shape));
    }

    [Fact]
    public void KeepsTheNormOfEachColumn()
    {
        // Two independent unit-variance columns are nearly orthogonal; slerp between them keeps their length.
        float[] low = new TorchCpuGenerator(3).Randn(Shape.Count);
        float[] high = new TorchCpuGenerator(4).Randn(Shape.Count);
        float[] mid = Slerp.Blend(0.5, low, high, Shape);
        for (int c = 0; c < 4; c++)
            for (int x = 0; x < 16; x++)
            {
                double a = ColumnNorm(low, c, x), b = ColumnNorm(high, c, x), m = ColumnNorm(mid, c, x);
                Assert.InRange(m, Math.Min(a, b) * 0.999, Math.Max(a, b) * 1.001);
            }
    }

    [Fact]
    public void MatchesTheSlerpFormulaPerColumn()
    {
        // One channel, one column of two orthogonal unit vectors: slerp(t) = (cos(tπ/2), sin(tπ/2)).
        var shape = new NoiseShape(1, 2, 1);
        float[] mid = Slerp.Blend(1.0 / 3, [1f, 0f], [0f, 1f], shape);
        Assert.Equal(Math.Cos(Math.PI / 6), mid[0], 1e-7);
        Assert.Equal(Math.Sin(Math.PI / 6), mid[1], 1e-7);
    }

    [Fact]
    public void NearlyParallelInputsBlendWithA1111sWeights()
    {
        // mean(dot) > 0.9995: A1111 returns low·val + high·(1 − val), weights as written in its code.
        var shape = new NoiseShape(1, 2, 1);
        float[] result = Slerp.Blend(0.25, [1f, 0f], [1f, 0.001f], shape);
        Assert.Equal(1f, result[0]);
        Assert.Equal(0.00075f, result[1], 1e-9f);
    }

    private static double ColumnNorm(float[] v, int c, int x)
    {
        double sum = 0;
        for (int y = 0; y < 16; y++) sum += (double)v[(c * 16 + y) * 16 + x] * v[(c * 16 + y) * 16 + x];
        return Math.Sqrt(sum);
    }
}
