namespace SdSharp.Imaging.Ops;

/// <summary>
/// <c>cv2.GaussianBlur</c> on 8-bit images as OpenCV computes it (its bit-exact path for CV_8U): the Gaussian
/// kernel in double, quantised to 8 fractional bits with error diffusion so it sums to exactly 1; rows filtered
/// into 16-bit fixed point, columns filtered from those and rounded once; borders reflected without repeating the
/// edge pixel (BORDER_REFLECT_101, OpenCV's default).
/// </summary>
public static class OpenCvGaussianBlur
{
    private const int FractionBits = 8;
    private const int One = 1 << FractionBits;

    /// <summary>
    /// Blurs every channel with a <paramref name="kernelWidth"/> × <paramref name="kernelHeight"/> kernel (odd
    /// sizes; 0 derives the size from sigma as OpenCV does). <paramref name="sigmaY"/> ≤ 0 means sigmaX.
    /// </summary>
    public static Image Blur(Image image, int kernelWidth, int kernelHeight, double sigmaX, double sigmaY = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        // A one-pixel-wide image has nothing to blur across (OpenCV drops that axis).
        if (image.Height == 1) kernelHeight = 1;
        if (image.Width == 1) kernelWidth = 1;
        if (kernelWidth == 1 && kernelHeight == 1) return PillowResize.Copy(image);
        if (sigmaY <= 0) sigmaY = sigmaX;
        if (kernelWidth <= 0 && sigmaX > 0) kernelWidth = (int)Math.Round(sigmaX * 3 * 2 + 1) | 1;
        if (kernelHeight <= 0 && sigmaY > 0) kernelHeight = (int)Math.Round(sigmaY * 3 * 2 + 1) | 1;
        if (kernelWidth <= 0 || kernelWidth % 2 == 0 || kernelHeight <= 0 || kernelHeight % 2 == 0)
            throw new ArgumentException($"Kernel sizes must be odd and positive, not {kernelWidth}x{kernelHeight}.");

        int[] kx = FixedPointKernel(kernelWidth, Math.Max(sigmaX, 0));
        int[] ky = FixedPointKernel(kernelHeight, Math.Max(sigmaY, 0));
        return Vertical(image, Horizontal(image, kx), ky);
    }

    /// <summary>
    /// OpenCV's Gaussian kernel of <paramref name="n"/> taps (getGaussianKernel in CV_64F, bit for bit where the
    /// exponential agrees): fixed tables for small sizes when sigma ≤ 0, otherwise exp(−x²/2σ²) normalised.
    /// </summary>
    public static double[] Kernel(int n, double sigma)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (sigma <= 0 && SmallKernel(n) is { } table) return table;

        double sx = sigma > 0 ? sigma : Math.FusedMultiplyAdd(n, 0.15, 0.35);
        double scale2X = -0.125 / (sx * sx);
        int half = (n - 1) / 2;
        var values = new double[half];
        double sum = 0;
        // x runs over twice the offset from the centre, hence −1/8 rather than −1/2 above.
        for (int i = 0, x = 1 - n; i < half; i++, x += 2)
        {
            values[i] = Math.Exp((double)(x * x) * scale2X);
            sum += values[i];
        }
        sum *= 2;
        sum += 1;
        if (n % 2 == 0) sum += 1;
        double mul = 1 / sum;

        var result = new double[n];
        for (int i = 0; i < half; i++)
            result[i] = result[n - 1 - i] = values[i] * mul;
        result[half] = mul;
        if (n % 2 == 0) result[half + 1] = mul;
        return result;
    }

    /// <summary>The kernel in 8 fractional bits: each side tap rounded after adding the previous tap's rounding
    /// error, the centre taking whatever makes the sum exactly 1.</summary>
    internal static int[] FixedPointKernel(int n, double sigma)
    {
        double[] k = Kernel(n, sigma);
        var result = new int[n];
        double error = 0;
        int sum = 0;
        for (int i = 0; i < n / 2; i++)
        {
            double adjusted = k[i] * One + error;
            int v = (int)Math.Round(adjusted, MidpointRounding.ToEven);
            error = adjusted - v;
            result[i] = result[n - 1 - i] = v;
            sum += v;
        }
        result[n / 2] = One - 2 * sum;
        return result;
    }

    // Rows: 16-bit sums of byte × 8-bit weight (they cannot overflow: the weights add up to 256).
    private static ushort[] Horizontal(Image image, int[] k)
    {
        int w = image.Width, ch = image.Channels, half = k.Length / 2;
        var result = new ushort[image.Pixels.Length];
        byte[] src = image.Pixels;
        var taps = new int[k.Length];
        for (int x = 0; x < w; x++)
        {
            for (int t = 0; t < k.Length; t++) taps[t] = Reflect101(x - half + t, w) * ch;
            for (int y = 0; y < image.Height; y++)
            {
                int row = y * image.Stride;
                for (int c = 0; c < ch; c++)
                {
                    int sum = 0;
                    for (int t = 0; t < k.Length; t++) sum += src[row + taps[t] + c] * k[t];
                    result[row + x * ch + c] = (ushort)sum;
                }
            }
        }
        return result;
    }

    // Columns: 16-bit values × 8-bit weights summed in 32 bits (16 fractional bits), rounded half up to a byte.
    private static Image Vertical(Image shape, ushort[] rows, int[] k)
    {
        int h = shape.Height, stride = shape.Stride, half = k.Length / 2;
        var result = new Image(shape.Width, h, shape.Channels);
        byte[] dst = result.Pixels;
        var taps = new int[k.Length];
        for (int y = 0; y < h; y++)
        {
            for (int t = 0; t < k.Length; t++) taps[t] = Reflect101(y - half + t, h) * stride;
            for (int i = 0; i < stride; i++)
            {
                long sum = 0;
                for (int t = 0; t < k.Length; t++) sum += rows[taps[t] + i] * k[t];
                dst[y * stride + i] = (byte)Math.Min((sum + (1 << 15)) >> 16, 255);
            }
        }
        return result;
    }

    /// <summary>OpenCV's borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba), reflecting again
    /// as often as a long kernel needs.</summary>
    internal static int Reflect101(int p, int length)
    {
        if (length == 1) return 0;
        while ((uint)p >= (uint)length)
            p = p < 0 ? -p : 2 * (length - 1) - p;
        return p;
    }

    private static double[]? SmallKernel(int n) => n switch
    {
        1 => [1.0],
        3 => [0.25, 0.5, 0.25],
        5 => [0.0625, 0.25, 0.375, 0.25, 0.0625],
        7 => [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
        9 => [4 / 256.0, 13 / 256.0, 30 / 256.0, 51 / 256.0, 60 / 256.0, 51 / 256.0, 30 / 256.0, 13 / 256.0, 4 / 256.0],
        _ => null,
    };
}
