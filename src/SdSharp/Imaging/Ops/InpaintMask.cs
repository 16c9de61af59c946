namespace SdSharp.Imaging.Ops;

/// <summary>A1111's mask handling for inpainting, in the order img2img applies it.</summary>
public static class InpaintMask
{
    /// <summary>
    /// create_binary_mask: an RGBA image whose alpha is not all 255 (the UI's sketch layer) gives its alpha,
    /// thresholded at &gt; 128 when <paramref name="round"/>; anything else is converted to gray.
    /// </summary>
    public static Image CreateBinaryMask(Image image, bool round = true)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != 4 || !HasTranslucentPixel(image)) return PillowConvert.To(image, 1);
        Image alpha = PillowConvert.Band(image, 3);
        if (round)
            foreach (ref byte v in alpha.Pixels.AsSpan())
                v = v > 128 ? (byte)255 : (byte)0;
        return alpha;
    }

    /// <summary>ImageOps.invert: 255 − v in every channel ("inpaint not masked").</summary>
    public static Image Invert(Image mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var result = PillowResize.Copy(mask);
        foreach (ref byte v in result.Pixels.AsSpan())
            v = (byte)(255 - v);
        return result;
    }

    /// <summary>
    /// The mask blur: cv2.GaussianBlur along x with sigma <paramref name="blurX"/> and a kernel of
    /// 2·int(2.5σ + 0.5) + 1 taps, then the same along y; a blur of 0 skips that axis.
    /// </summary>
    public static Image Blur(Image mask, int blurX, int blurY)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (blurX > 0) mask = OpenCvGaussianBlur.Blur(mask, KernelSize(blurX), 1, blurX);
        if (blurY > 0) mask = OpenCvGaussianBlur.Blur(mask, 1, KernelSize(blurY), blurY);
        return mask;
    }

    /// <summary>The overlay mask of whole-picture inpainting: the resized mask doubled and clipped, so the
    /// blurred edge reaches full strength halfway.</summary>
    public static Image Doubled(Image mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var result = PillowResize.Copy(mask);
        foreach (ref byte v in result.Pixels.AsSpan())
            v = (byte)Math.Min(v * 2, 255);
        return result;
    }

    /// <summary>
    /// The latent-space mask: the mask as RGB resized to the latent size with Pillow's default (bicubic), its
    /// first channel / 255 in float32, rounded half to even to 0 or 1 when <paramref name="round"/>. 1 is repainted.
    /// </summary>
    public static LatentMask ToLatent(Image mask, int latentWidth, int latentHeight, bool round = true)
    {
        ArgumentNullException.ThrowIfNull(mask);
        Image small = PillowResize.Resize(PillowConvert.To(mask, 3), latentWidth, latentHeight);
        var values = new float[latentWidth * latentHeight];
        for (int i = 0; i < values.Length; i++)
        {
            float v = small.Pixels[i * 3] / 255f;
            values[i] = round ? MathF.Round(v, MidpointRounding.ToEven) : v;
        }
        return new LatentMask(latentWidth, latentHeight, values);
    }

    /// <summary>
    /// The full-resolution mask inpainting models are conditioned on: gray / 255 in float32, rounded half to even
    /// when <paramref name="round"/> (A1111 rounds unless mask_round is off). Row-major; the caller scales it to
    /// the latent size with torch's nearest rule.
    /// </summary>
    public static float[] ToConditioning(Image mask, bool round = true)
    {
        ArgumentNullException.ThrowIfNull(mask);
        byte[] gray = PillowConvert.To(mask, 1).Pixels;
        var values = new float[gray.Length];
        for (int i = 0; i < gray.Length; i++)
            values[i] = round ? MathF.Round(gray[i] / 255f, MidpointRounding.ToEven) : gray[i] / 255f;
        return values;
    }

    internal static int KernelSize(int sigma) => 2 * (int)(2.5 * sigma + 0.5) + 1;

    private static bool HasTranslucentPixel(Image rgba)
    {
        byte[] p = rgba.Pixels;
        for (int i = 3; i < p.Length; i += 4)
            if (p[i] != 255) return true;
        return false;
    }
}

/// <summary>A mask at latent resolution, row-major; 1 marks what is repainted.</summary>
public sealed record LatentMask(int Width, int Height, float[] Values);
