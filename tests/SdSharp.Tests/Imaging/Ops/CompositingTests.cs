using SdSharp.Imaging;
using SdSharp.Imaging.Ops;

namespace SdSharp.Tests.Imaging.Ops;

public class CompositingTests
{
    public static TheoryData<string> Cases => OpsFixtures.Ids("composite");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pillow(string expected)
    {
        var c = OpsFixtures.Case("composite", expected);
        Image a = OpsFixtures.Input(c["a"]!.GetValue<string>());
        Image actual;
        switch (c["op"]!.GetValue<string>())
        {
            case "alpha_composite":
                actual = Compositing.AlphaComposite(a, OpsFixtures.Input(c["b"]!.GetValue<string>()));
                break;
            case "paste_mask":
                actual = PillowResize.Copy(a);
                Compositing.Paste(actual, OpsFixtures.Input(c["b"]!.GetValue<string>()), 0, 0, OpsFixtures.Input(c["mask"]!.GetValue<string>()));
                break;
            case "premultiply_roundtrip":
                actual = PremultipliedAlpha.Unpremultiply(PremultipliedAlpha.Premultiply(a));
                break;
            case "flatten":
                actual = A1111Resize.Flatten(a);
                break;
            default:
                throw new InvalidOperationException(c["op"]!.ToString());
        }
        OpsFixtures.AssertSame(OpsFixtures.Load(expected), actual, expected);
    }

    [Fact]
    public void Paste_clips_at_every_edge()
    {
        var target = new Image(3, 3, 1);
        var source = new Image(2, 2, 1, [1, 2, 3, 4]);
        Compositing.Paste(target, source, -1, 2);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 2, 0, 0 }, target.Pixels);
        Compositing.Paste(target, source, 2, -1);
        Assert.Equal(new byte[] { 0, 0, 3, 0, 0, 0, 2, 0, 0 }, target.Pixels);
    }

    [Fact]
    public void Gray_pasted_into_rgb_is_replicated_and_rgba_loses_alpha()
    {
        var target = new Image(2, 1, 3);
        Compositing.Paste(target, new Image(1, 1, 1, [9]), 0, 0);
        Compositing.Paste(target, new Image(1, 1, 4, [1, 2, 3, 0]), 1, 0);
        Assert.Equal(new byte[] { 9, 9, 9, 1, 2, 3 }, target.Pixels);
    }

    [Fact]
    public void Crop_outside_the_image_is_zero()
    {
        var image = new Image(2, 2, 1, [1, 2, 3, 4]);
        Image crop = ImageRegion.Crop(image, -1, 1, 2, 3);
        Assert.Equal(new byte[] { 0, 3, 4, 0, 0, 0 }, crop.Pixels);
    }

    [Fact]
    public void Bounding_box_of_an_image_with_alpha_looks_at_alpha_only()
    {
        var image = new Image(3, 2, 2, [0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 5, 9]);
        Assert.Equal(new CropRegion(2, 1, 3, 2), ImageRegion.BoundingBox(image));
        Assert.Null(ImageRegion.BoundingBox(new Image(3, 2, 1)));
    }
}
