using SdSharp.Imaging;
using SdSharp.Imaging.Ops;

namespace SdSharp.Tests.Imaging.Ops;

/// <summary>The whole img2img/inpaint preparation and the composite after decoding, case by case against A1111's
/// StableDiffusionProcessingImg2Img.init and apply_overlay as restated in the reference script.</summary>
public class Img2ImgImagePreparationTests
{
    public static TheoryData<string> Cases => OpsFixtures.Ids("img2img", "image");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Prepares_like_a1111(string image)
    {
        var c = OpsFixtures.Case("img2img", image, "image");
        Img2ImgImages actual = Prepare(c);

        OpsFixtures.AssertSame(OpsFixtures.Load(image), actual.Image, "init image");
        Assert.Equal(c["paste_to"] is { } p ? ToRegion(p) : null, actual.PasteTo);
        AssertOptional(c, "mask_for_overlay", actual.MaskForOverlay);
        AssertOptional(c, "overlay", actual.Overlay);
        if (c["latent_mask"] is { } lm)
        {
            Assert.NotNull(actual.LatentMask);
            Assert.Equal((lm["width"]!.GetValue<int>(), lm["height"]!.GetValue<int>()), (actual.LatentMask.Width, actual.LatentMask.Height));
            Assert.Equal(lm["values"]!.AsArray().Select(v => v!.GetValue<float>()), actual.LatentMask.Values);
        }
        else
        {
            Assert.Null(actual.LatentMask);
        }
    }

    public static TheoryData<int> OverlayCases => [.. OpsFixtures.Cases("overlay").Select(c => c["case"]!.GetValue<int>())];

    [Theory]
    [MemberData(nameof(OverlayCases))]
    public void Composites_the_decoded_picture_like_a1111(int index)
    {
        var c = OpsFixtures.Cases("img2img").ElementAt(index);
        Img2ImgImages prepared = Prepare(c);
        var o = OpsFixtures.Cases("overlay").Single(x => x["case"]!.GetValue<int>() == index);
        Image decoded = Decoded(index, prepared);

        Image actual = InpaintOverlay.Apply(decoded, prepared.PasteTo, prepared.Overlay);
        OpsFixtures.AssertSame(OpsFixtures.Load(o["expected"]!.GetValue<string>()), actual, $"case {index}");
    }

    [Fact]
    public void Without_an_overlay_the_decoded_picture_is_returned()
    {
        var decoded = new Image(2, 2, 3, [.. Enumerable.Range(0, 12).Select(i => (byte)i)]);
        Assert.Equal(decoded.Pixels, InpaintOverlay.Apply(decoded, null, null).Pixels);
    }

    private static Img2ImgImages Prepare(System.Text.Json.Nodes.JsonObject c)
    {
        var p = c["params"]!.AsObject();
        T Get<T>(string key, T fallback) => p[key] is { } v ? v.GetValue<T>() : fallback;
        var options = new Img2ImgImageOptions
        {
            Width = Get("width", 512),
            Height = Get("height", 512),
            ResizeMode = (ImageResizeMode)Get("resize_mode", 0),
            MaskBlurX = Get("blur_x", 4),
            MaskBlurY = Get("blur_y", 4),
            MaskRound = Get("mask_round", true),
            InpaintingFill = (MaskedContent)Get("inpainting_fill", 0),
            InpaintFullRes = Get("full_res", true),
            InpaintFullResPadding = Get("padding", 0),
            InvertMask = Get("invert", false),
        };
        Image? mask = c["mask"] is { } m ? OpsFixtures.Input(m.GetValue<string>()) : null;
        return Img2ImgImagePreparation.Prepare(OpsFixtures.Input(c["init"]!.GetValue<string>()), mask, options);
    }

    // The script's stand-in for a decoded picture: (7x + 13y + 101c + 29·case) mod 256 at the processing size.
    private static Image Decoded(int index, Img2ImgImages prepared)
    {
        int w = prepared.PasteTo is null ? prepared.Overlay!.Width : prepared.Image.Width;
        int h = prepared.PasteTo is null ? prepared.Overlay!.Height : prepared.Image.Height;
        var image = new Image(w, h, 3);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < 3; ch++)
                    image.Pixels[(y * w + x) * 3 + ch] = (byte)((x * 7 + y * 13 + ch * 101 + index * 29) % 256);
        return image;
    }

    private static CropRegion ToRegion(System.Text.Json.Nodes.JsonNode pasteTo)
    {
        int[] v = pasteTo.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        return new CropRegion(v[0], v[1], v[0] + v[2], v[1] + v[3]);
    }

    private static void AssertOptional(System.Text.Json.Nodes.JsonObject c, string key, Image? actual)
    {
        if (c[key] is { } file)
        {
            Assert.NotNull(actual);
            OpsFixtures.AssertSame(OpsFixtures.Load(file.GetValue<string>()), actual, key);
        }
        else
        {
            Assert.Null(actual);
        }
    }
}
