namespace SdSharp.Imaging.Ops;

/// <summary>
/// Pillow's conversions between straight and premultiplied alpha (modes RGBA ↔ RGBa, LA ↔ La). Premultiplying
/// rounds; undoing it divides and truncates, so a round trip loses colour in translucent pixels, as in Pillow.
/// </summary>
public static class PremultipliedAlpha
{
    /// <summary>Colour × alpha / 255, rounded (Pillow's MULDIV255). The result has the same channels.</summary>
    public static Image Premultiply(Image image)
    {
        RequireAlpha(image);
        var result = PillowResize.Copy(image);
        byte[] p = result.Pixels;
        int ch = image.Channels;
        for (int i = 0; i < p.Length; i += ch)
        {
            int alpha = p[i + ch - 1];
            for (int c = 0; c < ch - 1; c++)
                p[i + c] = MulDiv255(p[i + c], alpha);
        }
        return result;
    }

    /// <summary>Colour × 255 / alpha, truncated and clipped; pixels with alpha 0 or 255 are left as they are.</summary>
    public static Image Unpremultiply(Image image)
    {
        RequireAlpha(image);
        var result = PillowResize.Copy(image);
        byte[] p = result.Pixels;
        int ch = image.Channels;
        for (int i = 0; i < p.Length; i += ch)
        {
            int alpha = p[i + ch - 1];
            if (alpha is 0 or 255) continue;
            for (int c = 0; c < ch - 1; c++)
                p[i + c] = (byte)Math.Min(255 * p[i + c] / alpha, 255);
        }
        return result;
    }

    /// <summary>a·b/255 rounded, with Pillow's shift trick (exact for bytes).</summary>
    internal static byte MulDiv255(int a, int b) => Div255(a * b);

    /// <summary>x/255 rounded, for x up to 255·255 (Pillow's DIV255).</summary>
    internal static byte Div255(int x)
    {
        int t = x + 128;
        return (byte)(((t >> 8) + t) >> 8);
    }

    private static void RequireAlpha(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!image.HasAlpha) throw new ArgumentException($"An image with alpha is needed, not {image.Channels} channels.", nameof(image));
    }
}
