using SdSharp.Imaging;
using SdSharp.Imaging.Ops;

namespace SdSharp.Tests.Imaging.Ops;

public class PillowBlurTests
{
    public static TheoryData<string> Cases => OpsFixtures.Ids("gaussian");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gaussian_matches_pillow(string expected)
    {
        var c = OpsFixtures.Case("gaussian", expected);
        Image actual = PillowBlur.Gaussian(OpsFixtures.Input(c["input"]!.GetValue<string>()), c["radius"]!.GetValue<float>());
        OpsFixtures.AssertSame(OpsFixtures.Load(expected), actual, expected);
    }

    [Fact]
    public void Radius_zero_leaves_the_image_alone()
    {
        var image = new Image(5, 3, 1, [.. Enumerable.Range(0, 15).Select(i => (byte)(i * 17))]);
        Assert.Equal(image.Pixels, PillowBlur.Gaussian(image, 0).Pixels);
        Assert.Equal(image.Pixels, PillowBlur.Box(image, 0).Pixels);
    }

    [Fact]
    public void A_flat_image_stays_flat_for_any_radius()
    {
        var image = new Image(7, 4, 4, [.. Enumerable.Repeat((byte)200, 7 * 4 * 4)]);
        foreach (float r in new[] { 0.3f, 1, 5, 300 })
            Assert.All(PillowBlur.Gaussian(image, r).Pixels, v => Assert.Equal(200, v));
    }
}
