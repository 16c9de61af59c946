namespace SdSharp.Sampling.Random;

/// <summary>
/// A1111's variation-seed blend (<c>rng.slerp</c>) on one image's (C, H, W) noise: spherical interpolation
/// per (channel, column), with vectors running along H (torch's dim 1), and a plain blend when the two are
/// nearly parallel. The dot products are taken in float64; every later step is the float32 operation torch
/// performs, applied to correctly rounded function values. That is close but not bit-exact: against torch
/// 1.13 on x86, 83–89% of values were bit-equal and the rest within 7.2e-7, because torch's reduction order
/// and its vectorized acos/sin are not reproduced.
/// </summary>
public static class Slerp
{
    /// <summary>Blends <paramref name="low"/> (the seed's noise) toward <paramref name="high"/> (the subseed's).</summary>
    public static float[] Blend(double val, ReadOnlySpan<float> low, ReadOnlySpan<float> high, NoiseShape shape)
    {
        if (low.Length != shape.Count || high.Length != shape.Count)
            throw new ArgumentException($"Slerp needs two arrays of {shape.Count} values, got {low.Length} and {high.Length}.");
        int c = shape.Channels, h = shape.Height, w = shape.Width;

        var dot = new double[c * w];
        for (int ch = 0; ch < c; ch++)
            for (int x = 0; x < w; x++)
            {
                double lowNorm = 0, highNorm = 0, sum = 0;
                for (int y = 0; y < h; y++)
                {
                    int i = (ch * h + y) * w + x;
                    lowNorm += (double)low[i] * low[i];
                    highNorm += (double)high[i] * high[i];
                    sum += (double)low[i] * high[i];
                }
                dot[ch * w + x] = sum / (Math.Sqrt(lowNorm) * Math.Sqrt(highNorm));
            }

        var result = new float[shape.Count];
        if (dot.Average() > 0.9995)
        {
            // As A1111 writes it: the weights look swapped against slerp's, and that is what its images use.
            float lowScale = (float)val, highScale = (float)(1 - val);
            for (int i = 0; i < result.Length; i++) result[i] = low[i] * lowScale + high[i] * highScale;
            return result;
        }

        for (int ch = 0; ch < c; ch++)
            for (int x = 0; x < w; x++)
            {
                // Torch's float32 steps, each from a correctly rounded function value.
                float omega = (float)Math.Acos((float)dot[ch * w + x]);
                float so = (float)Math.Sin(omega);
                float lowWeight = (float)Math.Sin((float)(1.0 - val) * omega) / so;
                float highWeight = (float)Math.Sin((float)val * omega) / so;
                for (int y = 0; y < h; y++)
                {
                    int i = (ch * h + y) * w + x;
                    result[i] = lowWeight * low[i] + highWeight * high[i];
                }
            }
        return result;
    }
}
