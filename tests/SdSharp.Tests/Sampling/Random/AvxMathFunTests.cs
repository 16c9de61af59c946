using SdSharp.Sampling.Random;

namespace SdSharp.Tests.Sampling.Random;

/// <summary>The ported Cephes functions stay accurate; bit-exactness against torch is the fixtures' job.</summary>
public class AvxMathFunTests
{
    [Fact]
    public void LogIsAccurateOnTheKernelsDomain()
    {
        // The kernel takes log of 1 − u for 24-bit uniforms u: (2^-24, 1].
        for (int k = 1; k <= 1 << 24; k += 997)
        {
            float x = k / 16777216f;
            double exact = Math.Log(x);
            Assert.True(Math.Abs(AvxMathFun.Log(x) - exact) <= 2.5 * UlpOf((float)exact), $"log({x})");
        }
        Assert.Equal(0f, AvxMathFun.Log(1f));
    }

    [Fact]
    public void LogOfNonPositiveIsNaN()
    {
        Assert.True(float.IsNaN(AvxMathFun.Log(0f)));
        Assert.True(float.IsNaN(AvxMathFun.Log(-1f)));
    }

    [Fact]
    public void SinCosAreAccurateOverAFullTurn()
    {
        float twoPi = (float)(2 * Math.PI);
        for (int k = 0; k < 1 << 24; k += 1009)
        {
            float angle = twoPi * (k / 16777216f);
            (float sin, float cos) = AvxMathFun.SinCos(angle);
            Assert.True(Math.Abs(sin - Math.Sin(angle)) < 2e-7, $"sin({angle})");
            Assert.True(Math.Abs(cos - Math.Cos(angle)) < 2e-7, $"cos({angle})");
        }
    }

    [Fact]
    public void SinCosHandlesNegativeAngles()
    {
        (float sin, float cos) = AvxMathFun.SinCos(-1f);
        Assert.Equal(Math.Sin(-1), sin, 1e-7);
        Assert.Equal(Math.Cos(-1), cos, 1e-7);
    }

    private static double UlpOf(float value) => Math.Max(MathF.BitIncrement(Math.Abs(value)) - Math.Abs(value), float.Epsilon);
}
