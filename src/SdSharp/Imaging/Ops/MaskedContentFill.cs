namespace SdSharp.Imaging.Ops;

/// <summary>
/// A1111's masked content "fill" (masking.fill): the masked area is painted with the surrounding colours,
/// smeared by Gaussian blurs from very wide to none, each composited over the previous ones.
/// </summary>
public static class MaskedContentFill
{
    // (Pillow GaussianBlur radius, times composited), widest first.
    private static readonly (float Radius, int Repeats)[] Layers = [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)];

    /// <summary>Returns <paramref name="image"/> (RGB) with the white part of <paramref name="mask"/> filled.</summary>
    public static Image Fill(Image image, Image mask)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(mask);
        // The unmasked pixels, premultiplied, transparent where the mask is white; blurring premultiplied
        // colour spreads it into the hole without darkening towards black.
        var masked = new Image(image.Width, image.Height, 4);
        Compositing.Paste(masked, PremultipliedAlpha.Premultiply(image.ToRgba()), 0, 0,
                          InpaintMask.Invert(PillowConvert.To(mask, 1)));

        var result = new Image(image.Width, image.Height, 4);
        foreach ((float radius, int repeats) in Layers)
        {
            Image blurred = PremultipliedAlpha.Unpremultiply(PillowBlur.Gaussian(masked, radius));
            for (int i = 0; i < repeats; i++)
                result = Compositing.AlphaComposite(result, blurred);
        }
        return result.ToRgb();
    }
}
