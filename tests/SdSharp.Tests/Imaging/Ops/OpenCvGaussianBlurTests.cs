using SdSharp.Imaging;
using SdSharp.Imaging.Ops;

namespace SdSharp.Tests.Imaging.Ops;

public class OpenCvGaussianBlurTests
{
    public static TheoryData<string> Cases => OpsFixtures.Ids("cvblur");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_opencv(string expected)
    {
        var c = OpsFixtures.Case("cvblur", expected);
        Image actual = OpenCvGaussianBlur.Blur(OpsFixtures.Input(c["input"]!.GetValue<string>()), c["kw"]!.GetValue<int>(),
                                               c["kh"]!.GetValue<int>(), c["sigma"]!.GetValue<double>());
        OpsFixtures.AssertSame(OpsFixtures.Load(expected), actual, expected);
    }

    // OpenCV exponentiates with its own software exp; .NET's (the C library's) differs from it by an ulp here and
    // there, so the double kernels agree to a few ulps, not always bit for bit.
    [Fact]
    public void Kernels_match_getGaussianKernel_within_a_few_ulps()
    {
        foreach (var c in OpsFixtures.Cases("cvkernels"))
        {
            int n = c["n"]!.GetValue<int>();
            double sigma = c["sigma"]!.GetValue<double>();
            long[] expected = c["bits"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray();
            long[] actual = OpenCvGaussianBlur.Kernel(n, sigma).Select(BitConverter.DoubleToInt64Bits).ToArray();
            Assert.Equal(expected.Length, actual.Length);
            long ulps = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(ulps <= 8, $"n={n} sigma={sigma}: {ulps} ulps apart");
        }
    }

    // What the 8-bit blur actually multiplies by: identical for every blur A1111's slider offers (1 to 64).
    [Fact]
    public void Fixed_point_kernels_match_opencv_for_every_a1111_blur()
    {
        foreach (var c in OpsFixtures.Cases("cvfixed"))
        {
            int n = c["n"]!.GetValue<int>();
            int sigma = c["sigma"]!.GetValue<int>();
            int[] half = c["half"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray();
            Assert.Equal(half, OpenCvGaussianBlur.FixedPointKernel(n, sigma).Take(n / 2 + 1));
        }
    }

    [Fact]
    public void Fixed_point_kernel_sums_to_exactly_one()
    {
        foreach (int sigma in new[] { 1, 2, 4, 8, 64 })
        {
            int n = InpaintMask.KernelSize(sigma);
            Assert.Equal(256, OpenCvGaussianBlur.FixedPointKernel(n, sigma).Sum());
        }
    }

    [Theory]
    [InlineData(-1, 5, 1)]
    [InlineData(-6, 5, 2)]
    [InlineData(5, 5, 3)]
    [InlineData(13, 5, 3)]
    [InlineData(3, 1, 0)]
    public void Reflect101_mirrors_without_repeating_the_edge(int p, int length, int expected) =>
        Assert.Equal(expected, OpenCvGaussianBlur.Reflect101(p, length));

    [Fact]
    public void Rejects_even_kernels() =>
        Assert.Throws<ArgumentException>(() => OpenCvGaussianBlur.Blur(new Image(5, 5, 1), 4, 1, 1));
}
