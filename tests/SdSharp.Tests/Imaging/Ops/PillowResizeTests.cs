using SdSharp.Imaging;
using SdSharp.Imaging.Ops;

namespace SdSharp.Tests.Imaging.Ops;

public class PillowResizeTests
{
    public static TheoryData<string> Cases => OpsFixtures.Ids("resize");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pillow(string expected)
    {
        var c = OpsFixtures.Case("resize", expected);
        Image input = OpsFixtures.Input(c["input"]!.GetValue<string>());
        ResizeBox? box = null;
        if (c["box"] is { } b)
        {
            float[] v = b.AsArray().Select(n => n!.GetValue<float>()).ToArray();
            box = new ResizeBox(v[0], v[1], v[2], v[3]);
        }
        Image actual = PillowResize.Resize(input, c["width"]!.GetValue<int>(), c["height"]!.GetValue<int>(),
                                           OpsFixtures.Filter(c["filter"]!.GetValue<string>()), box);
        OpsFixtures.AssertSame(OpsFixtures.Load(expected), actual, expected);
    }

    [Fact]
    public void Same_size_is_a_copy()
    {
        var image = new Image(3, 2, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
        Image copy = PillowResize.Resize(image, 3, 2, ResampleFilter.Lanczos);
        Assert.NotSame(image.Pixels, copy.Pixels);
        Assert.Equal(image.Pixels, copy.Pixels);
    }

    [Fact]
    public void Rejects_a_box_outside_the_image()
    {
        var image = new Image(4, 4, 1);
        Assert.Throws<ArgumentException>(() => PillowResize.Resize(image, 2, 2, box: new ResizeBox(0, 0, 5, 4)));
        Assert.Throws<ArgumentException>(() => PillowResize.Resize(image, 2, 2, box: new ResizeBox(-1, 0, 4, 4)));
        Assert.Throws<ArgumentException>(() => PillowResize.Resize(image, 2, 2, box: new ResizeBox(3, 0, 2, 4)));
    }

    [Fact]
    public void Fixed_point_weights_of_a_pixel_sum_to_one_within_rounding()
    {
        foreach (ResampleFilter f in new[] { ResampleFilter.Bilinear, ResampleFilter.Bicubic, ResampleFilter.Lanczos })
        {
            var c = ResampleCoefficients.Compute(100, 0, 100, 37, f);
            for (int x = 0; x < 37; x++)
            {
                int sum = 0;
                for (int i = 0; i < c.Count[x]; i++) sum += c.Weights[x * c.KernelSize + i];
                Assert.InRange(sum, (1 << 22) - c.Count[x], (1 << 22) + c.Count[x]);
            }
        }
    }
}
