using SdSharp.Imaging;
using SdSharp.Imaging.Ops;

namespace SdSharp.Tests.Imaging.Ops;

/// <summary>A1111's resize_image, create_binary_mask, mask blur, crop regions and masking.fill against the
/// reference script's restatement of them on Pillow, OpenCV and numpy.</summary>
public class A1111ImageTests
{
    public static TheoryData<string> ResizeCases => OpsFixtures.Ids("a1111_resize");
    public static TheoryData<string> BinaryMaskCases => OpsFixtures.Ids("binary_mask");
    public static TheoryData<string> BlurCases => OpsFixtures.Ids("mask_blur");
    public static TheoryData<string> FillCases => OpsFixtures.Ids("fill");

    [Theory]
    [MemberData(nameof(ResizeCases))]
    public void Resize_image_matches(string expected)
    {
        var c = OpsFixtures.Case("a1111_resize", expected);
        Image actual = A1111Resize.ResizeImage((ImageResizeMode)c["mode"]!.GetValue<int>(), OpsFixtures.Input(c["input"]!.GetValue<string>()),
                                               c["width"]!.GetValue<int>(), c["height"]!.GetValue<int>());
        OpsFixtures.AssertSame(OpsFixtures.Load(expected), actual, expected);
    }

    [Theory]
    [MemberData(nameof(BinaryMaskCases))]
    public void Binary_mask_matches(string expected)
    {
        var c = OpsFixtures.Case("binary_mask", expected);
        Image actual = InpaintMask.CreateBinaryMask(OpsFixtures.Input(c["input"]!.GetValue<string>()), c["round"]!.GetValue<bool>());
        OpsFixtures.AssertSame(OpsFixtures.Load(expected), actual, expected);
    }

    [Theory]
    [MemberData(nameof(BlurCases))]
    public void Mask_blur_matches(string expected)
    {
        var c = OpsFixtures.Case("mask_blur", expected);
        Image actual = InpaintMask.Blur(OpsFixtures.Input(c["input"]!.GetValue<string>()), c["blur_x"]!.GetValue<int>(), c["blur_y"]!.GetValue<int>());
        OpsFixtures.AssertSame(OpsFixtures.Load(expected), actual, expected);
    }

    [Fact]
    public void Crop_regions_match()
    {
        foreach (var c in OpsFixtures.Cases("crop_region"))
        {
            Image mask = OpsFixtures.Input(c["input"]!.GetValue<string>());
            int pad = c["pad"]!.GetValue<int>();
            string what = $"{c["input"]} pad {pad}";
            CropRegion? v2 = InpaintCrop.GetCropRegion(mask, pad);
            Assert.True((c["v2"] is null ? null : OpsFixtures.Region(c["v2"]!)) == v2, what);
            Assert.True(OpsFixtures.Region(c["legacy"]!) == InpaintCrop.GetCropRegionLegacy(mask, pad), what);
            foreach (var (size, region) in c["expanded"]!.AsObject())
            {
                int[] wh = size.Split('x').Select(int.Parse).ToArray();
                CropRegion actual = InpaintCrop.ExpandCropRegion(v2!.Value, wh[0], wh[1], mask.Width, mask.Height);
                Assert.True(OpsFixtures.Region(region!) == actual, $"{what} for {size}: {actual}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(FillCases))]
    public void Fill_matches(string expected)
    {
        var c = OpsFixtures.Case("fill", expected);
        Image mask = InpaintMask.Blur(OpsFixtures.Input(c["mask"]!.GetValue<string>()), c["blur"]!.GetValue<int>(), c["blur"]!.GetValue<int>());
        Image actual = MaskedContentFill.Fill(OpsFixtures.Input(c["image"]!.GetValue<string>()), mask);
        OpsFixtures.AssertSame(OpsFixtures.Load(expected), actual, expected);
    }

    [Fact]
    public void Expand_crop_region_widens_to_the_processing_ratio_and_stays_inside()
    {
        // A 128x32 region for a square picture becomes 128 wide and 128 high (A1111's own example).
        Assert.Equal(new CropRegion(0, 0, 128, 128), InpaintCrop.ExpandCropRegion(new CropRegion(0, 10, 128, 42), 512, 512, 512, 512));
        Assert.Equal(new CropRegion(100, 384, 228, 512), InpaintCrop.ExpandCropRegion(new CropRegion(100, 470, 228, 502), 512, 512, 512, 512));
    }

    [Fact]
    public void Conditioning_mask_is_gray_over_255_rounded_unless_asked_not_to()
    {
        var mask = new Image(3, 1, 3, [0, 0, 0, 127, 127, 127, 128, 128, 128]);
        Assert.Equal(new float[] { 0, 0, 1 }, InpaintMask.ToConditioning(mask));
        Assert.Equal(new float[] { 0, 127 / 255f, 128 / 255f }, InpaintMask.ToConditioning(mask, round: false));
    }

    [Fact]
    public void Latent_mask_rounds_at_half()
    {
        var mask = new Image(2, 1, 1, [127, 128]);
        LatentMask m = InpaintMask.ToLatent(mask, 2, 1);
        Assert.Equal(new float[] { 0, 1 }, m.Values);
        Assert.Equal(new float[] { 127 / 255f, 128 / 255f }, InpaintMask.ToLatent(mask, 2, 1, round: false).Values);
    }
}
