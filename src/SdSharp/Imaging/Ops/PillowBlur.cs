namespace SdSharp.Imaging.Ops;

/// <summary>
/// Pillow's <c>ImageFilter.GaussianBlur</c> and <c>BoxBlur</c>: repeated "extended" box blurs (a box of
/// fractional radius) along rows, then along columns, in 8-bit fixed point with edge pixels repeated. All channels
/// are blurred alike, alpha included, which is what Pillow does for RGBA and RGBa.
/// </summary>
public static class PillowBlur
{
    /// <summary>GaussianBlur(<paramref name="radius"/>): three box passes whose variance adds up to radius².</summary>
    public static Image Gaussian(Image image, float radius) => Box(image, BoxRadius(radius, 3), 3);

    /// <summary>Box blur of a fractional radius, <paramref name="passes"/> times each way.</summary>
    public static Image Box(Image image, float radius, int passes = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(passes, 1);
        if (radius < 0) throw new ArgumentOutOfRangeException(nameof(radius), radius, "The radius must be >= 0.");
        var line = new BoxLine(Math.Max(image.Width, image.Height), radius);
        // Rows, then columns as the rows of the transposed image (as Pillow does; it also keeps the memory
        // access sequential).
        Image result = BlurRows(PillowResize.Copy(image), line, passes);
        return Transpose(BlurRows(Transpose(result), line, passes));
    }

    private static Image BlurRows(Image image, BoxLine line, int passes)
    {
        for (int y = 0; y < image.Height; y++)
            for (int c = 0; c < image.Channels; c++)
                line.Blur(image.Pixels, y * image.Stride + c, image.Channels, image.Width, passes);
        return image;
    }

    private static Image Transpose(Image image)
    {
        int ch = image.Channels;
        var result = new Image(image.Height, image.Width, ch);
        byte[] s = image.Pixels, d = result.Pixels;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                for (int c = 0; c < ch; c++)
                    d[(x * image.Height + y) * ch + c] = s[(y * image.Width + x) * ch + c];
        return result;
    }

    /// <summary>
    /// The extended box radius whose three passes have the variance of a Gaussian of <paramref name="radius"/>
    /// (Gwosdek et al., "Theoretical foundations of Gaussian convolution by extended box filtering"), computed
    /// in float and double exactly where Pillow does.
    /// </summary>
    internal static float BoxRadius(float radius, int passes)
    {
        float sigma2 = radius * radius / passes;
        float length = (float)Math.Sqrt(12.0 * sigma2 + 1.0);
        float l = (float)Math.Floor((length - 1.0) / 2.0);
        float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
        a /= 6 * (sigma2 - (l + 1) * (l + 1));
        return l + a;
    }

    /// <summary>One pass along a line: a running sum of 2r+1 pixels plus the two next ones at a fractional weight.</summary>
    private sealed class BoxLine(int maxLength, float floatRadius)
    {
        private readonly byte[] input = new byte[maxLength];
        private readonly int radius = (int)floatRadius;
        // Weights in 24-bit fixed point: ww for the whole pixels, fw for each of the two partial ones.
        private readonly uint ww = (uint)(16777216f / (floatRadius * 2 + 1));

        private uint Fw => (16777216u - (uint)(radius * 2 + 1) * ww) / 2;

        public void Blur(byte[] pixels, int start, int step, int length, int passes)
        {
            uint fw = Fw;
            int last = length - 1;
            int edgeA = Math.Min(radius + 1, length);
            int edgeB = Math.Max(length - radius - 1, 0);
            for (int pass = 0; pass < passes; pass++)
            {
                for (int i = 0, p = start; i < length; i++, p += step) input[i] = pixels[p];

                // The sum for the pixel before the first: the first pixel repeated radius+1 times, the next
                // radius pixels (the last one repeated where the line is shorter than the radius).
                uint acc = (uint)(input[0] * (radius + 1));
                for (int x = 0; x < edgeA - 1; x++) acc += input[x];
                acc += (uint)(input[last] * (radius - edgeA + 1));

                for (int x = 0; x < length; x++)
                {
                    // Leaving the window: x − r − 1, clamped to the first pixel; entering: x + r, clamped to the last.
                    int leave = Math.Max(x - radius - 1, 0);
                    int enter = Math.Min(x + radius, last);
                    int far = Math.Min(x + radius + 1, last);
                    acc += (uint)(input[enter] - input[leave]);
                    uint bulk = acc * ww + (uint)(input[leave] + input[far]) * fw;
                    pixels[start + x * step] = (byte)((bulk + (1u << 23)) >> 24);
                }
            }
        }
    }
}
