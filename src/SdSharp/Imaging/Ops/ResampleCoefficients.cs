namespace SdSharp.Imaging.Ops;

/// <summary>
/// One axis of Pillow's separable resize: for each output pixel the first input pixel and the count it reads,
/// and the weights in Pillow's fixed point (22 fractional bits, rounded half away from zero).
/// </summary>
internal sealed class ResampleCoefficients
{
    /// <summary>Fractional bits of the fixed-point weights: 32 bits less 8 for the value and 2 for overshoot.</summary>
    public const int PrecisionBits = 32 - 8 - 2;

    private ResampleCoefficients(int kernelSize, int[] first, int[] count, int[] weights)
    {
        KernelSize = kernelSize;
        First = first;
        Count = count;
        Weights = weights;
    }

    /// <summary>Stride of <see cref="Weights"/> per output pixel.</summary>
    public int KernelSize { get; }
    public int[] First { get; }
    public int[] Count { get; }
    public int[] Weights { get; }

    public static ResampleCoefficients Compute(int inSize, float in0, float in1, int outSize, ResampleFilter filter)
    {
        // The box edges are floats; their difference is taken in float before widening, as Pillow does.
        double scale = (double)(in1 - in0) / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = FilterShape.Support(filter) * filterScale;
        int kernelSize = (int)Math.Ceiling(support) * 2 + 1;

        var first = new int[outSize];
        var count = new int[outSize];
        var weights = new int[outSize * kernelSize];
        var k = new double[kernelSize];
        double ss = 1.0 / filterScale;
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = in0 + (xx + 0.5) * scale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            double sum = 0.0;
            for (int x = 0; x < xmax; x++)
            {
                int tap = x + xmin;  // an int before the double arithmetic, as in Pillow
                double w = FilterShape.Evaluate(filter, (tap - center + 0.5) * ss);
                k[x] = w;
                sum += w;
            }
            for (int x = 0; x < xmax; x++)
            {
                double w = sum != 0.0 ? k[x] / sum : k[x];
                weights[xx * kernelSize + x] = w < 0
                    ? (int)(-0.5 + w * (1 << PrecisionBits))
                    : (int)(0.5 + w * (1 << PrecisionBits));
            }
            first[xx] = xmin;
            count[xx] = Math.Max(xmax, 0);
        }
        return new ResampleCoefficients(kernelSize, first, count, weights);
    }

    /// <summary>Pillow's clip8: drop the fraction (arithmetic shift), clamp to a byte.</summary>
    public static byte Clip8(int sum) => (byte)Math.Clamp(sum >> PrecisionBits, 0, 255);

    /// <summary>The accumulator's start: half a unit, so the shift rounds.</summary>
    public const int Half = 1 << (PrecisionBits - 1);
}
