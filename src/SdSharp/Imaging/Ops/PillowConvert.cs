namespace SdSharp.Imaging.Ops;

/// <summary>Pillow's <c>convert</c> between L, LA, RGB and RGBA (by channel count).</summary>
public static class PillowConvert
{
    public static Image To(Image image, int channels)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (channels == image.Channels) return PillowResize.Copy(image);
        return channels switch
        {
            1 => image.ToGray(),
            3 => image.ToRgb(),
            4 => image.ToRgba(),
            2 => ToGrayAlpha(image),
            _ => throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels are 1 to 4."),
        };
    }

    /// <summary>One channel of an image as a gray image (Pillow's <c>split()[i]</c>).</summary>
    public static Image Band(Image image, int band)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegative(band);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(band, image.Channels);
        var result = new Image(image.Width, image.Height, 1);
        byte[] s = image.Pixels, d = result.Pixels;
        for (int i = 0, p = band; i < d.Length; i++, p += image.Channels)
            d[i] = s[p];
        return result;
    }

    // L and luma (ITU-R 601-2, as convert("L")) with alpha kept, or 255 where there was none.
    private static Image ToGrayAlpha(Image image)
    {
        Image gray = image.ToGray();
        var result = new Image(image.Width, image.Height, 2);
        byte[] g = gray.Pixels, s = image.Pixels, d = result.Pixels;
        for (int i = 0; i < g.Length; i++)
        {
            d[2 * i] = g[i];
            d[2 * i + 1] = image.HasAlpha ? s[i * image.Channels + image.Channels - 1] : (byte)255;
        }
        return result;
    }
}
