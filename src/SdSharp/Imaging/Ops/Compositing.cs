namespace SdSharp.Imaging.Ops;

/// <summary>Pillow's <c>paste</c> (plain and through a mask) and <c>alpha_composite</c>, with Pillow's rounding.</summary>
public static class Compositing
{
    /// <summary>Copies <paramref name="source"/> onto <paramref name="target"/> with its top-left corner at
    /// (<paramref name="x"/>, <paramref name="y"/>), clipped to the target.</summary>
    public static void Paste(Image target, Image source, int x, int y) => Paste(target, source, x, y, null);

    /// <summary>
    /// Blends <paramref name="source"/> into <paramref name="target"/> at (x, y) by <paramref name="mask"/> (same
    /// size as the source): gray, or the alpha of an image with alpha; every channel of the target is blended,
    /// alpha included: out = (target·(255 − m) + source·m) / 255, rounded.
    /// </summary>
    public static void Paste(Image target, Image source, int x, int y, Image? mask)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(source);
        if (mask != null && (mask.Width != source.Width || mask.Height != source.Height))
            throw new ArgumentException("The mask must have the size of the pasted image.", nameof(mask));
        if (mask is { Channels: 3 }) throw new ArgumentException("An RGB image is not a transparency mask.", nameof(mask));
        source = Matching(target, source);

        // Clip the pasted rectangle to the target.
        int sx = Math.Max(-x, 0), sy = Math.Max(-y, 0);
        int dx = x + sx, dy = y + sy;
        int w = Math.Min(source.Width - sx, target.Width - dx);
        int h = Math.Min(source.Height - sy, target.Height - dy);
        if (w <= 0 || h <= 0) return;

        int tc = target.Channels, scs = source.Channels;
        for (int row = 0; row < h; row++)
        {
            Span<byte> dst = target.Row(dy + row);
            ReadOnlySpan<byte> src = source.Row(sy + row);
            ReadOnlySpan<byte> m = mask == null ? default : mask.Row(sy + row);
            for (int col = 0; col < w; col++)
            {
                int d = (dx + col) * tc, s = (sx + col) * scs;
                if (mask == null)
                {
                    for (int c = 0; c < tc; c++) dst[d + c] = src[s + Math.Min(c, scs - 1)];
                    continue;
                }
                int a = m[(sx + col) * mask.Channels + mask.Channels - 1];
                for (int c = 0; c < tc; c++)
                    dst[d + c] = PremultipliedAlpha.Div255(dst[d + c] * (255 - a) + src[s + Math.Min(c, scs - 1)] * a);
            }
        }
    }

    /// <summary>
    /// <paramref name="overlay"/> composited over <paramref name="background"/> (both RGBA, same size), as a new
    /// image: Pillow's integer "over" with 7 extra bits of precision.
    /// </summary>
    public static Image AlphaComposite(Image background, Image overlay)
    {
        ArgumentNullException.ThrowIfNull(background);
        ArgumentNullException.ThrowIfNull(overlay);
        if (background.Channels != 4 || overlay.Channels != 4) throw new ArgumentException("Both images must be RGBA.");
        if (background.Width != overlay.Width || background.Height != overlay.Height) throw new ArgumentException("The images differ in size.");
        const int precision = 7;
        var result = new Image(background.Width, background.Height, 4);
        byte[] dst = background.Pixels, src = overlay.Pixels, o = result.Pixels;
        for (int i = 0; i < o.Length; i += 4)
        {
            uint sa = src[i + 3];
            if (sa == 0)
            {
                dst.AsSpan(i, 4).CopyTo(o.AsSpan(i, 4));
                continue;
            }
            uint blend = dst[i + 3] * (255 - sa);
            uint outA255 = sa * 255 + blend;
            uint coef1 = sa * 255 * 255 * (1 << precision) / outA255;
            uint coef2 = 255 * (1 << precision) - coef1;
            for (int c = 0; c < 3; c++)
            {
                uint t = src[i + c] * coef1 + dst[i + c] * coef2 + (0x80 << precision);
                o[i + c] = (byte)((((t >> 8) + t) >> 8) >> precision);
            }
            uint ta = outA255 + 0x80;
            o[i + 3] = (byte)(((ta >> 8) + ta) >> 8);
        }
        return result;
    }

    // Pillow converts the pasted image to the target's mode, except that RGBA and LA go into RGB as they are
    // (their colour bytes copied, alpha ignored).
    private static Image Matching(Image target, Image source)
    {
        if (source.Channels == target.Channels) return source;
        if (target.Channels == 3 && source.HasAlpha)
            return source.Channels == 4 ? source : source.ToRgb();
        return PillowConvert.To(source, target.Channels);
    }
}
