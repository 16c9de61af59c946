namespace SdSharp.Cpu;

internal static unsafe class LayoutKernels
{
    /// <summary>Nearest 2× upsampling of x [batch, h, w, c].</summary>
    public static void UpsampleNearest2x(CpuParallel parallel, float* x, float* y, int batch, int height, int width, int channels)
    {
        long rowBytes = (long)channels * sizeof(float);
        parallel.ForRanges((long)batch * height, 4, (start, end) =>
        {
            for (long by = start; by < end; by++)
            {
                float* src = x + by * width * channels;
                float* dst0 = y + by * 2 * (2L * width * channels);
                float* dst1 = dst0 + 2L * width * channels;
                for (int ix = 0; ix < width; ix++)
                {
                    Buffer.MemoryCopy(src + (long)ix * channels, dst0 + 2L * ix * channels, rowBytes, rowBytes);
                    Buffer.MemoryCopy(src + (long)ix * channels, dst0 + (2L * ix + 1) * channels, rowBytes, rowBytes);
                }
                Buffer.MemoryCopy(dst0, dst1, 2 * width * rowBytes, 2 * width * rowBytes);
            }
        });
    }

    /// <summary>
    /// Resizes x [batch, h, w, c] as torch.nn.functional.interpolate does with a target size:
    /// bilinear with align_corners=False (source = (dst + ½)·in/out − ½, clamped at 0), or nearest (floor(dst·in/out)).
    /// </summary>
    public static void Resize(CpuParallel parallel, float* x, float* y, int batch, int inH, int inW, int channels,
        int outH, int outW, bool bilinear)
    {
        float scaleY = (float)inH / outH, scaleX = (float)inW / outW;
        var x0 = new int[outW];
        var x1 = new int[outW];
        var fx = new float[outW];
        for (int ox = 0; ox < outW; ox++) SourceIndex(ox, scaleX, inW, bilinear, out x0[ox], out x1[ox], out fx[ox]);
        parallel.ForRanges((long)batch * outH, 4, (start, end) =>
        {
            for (long row = start; row < end; row++)
            {
                int b = (int)(row / outH), oy = (int)(row % outH);
                SourceIndex(oy, scaleY, inH, bilinear, out int y0, out int y1, out float fy);
                float* top = x + ((long)b * inH + y0) * inW * channels;
                float* bottom = x + ((long)b * inH + y1) * inW * channels;
                float* dst = y + row * outW * channels;
                for (int ox = 0; ox < outW; ox++)
                {
                    float* t0 = top + (long)x0[ox] * channels, t1 = top + (long)x1[ox] * channels;
                    float* b0 = bottom + (long)x0[ox] * channels, b1 = bottom + (long)x1[ox] * channels;
                    float wx = fx[ox];
                    float* d = dst + (long)ox * channels;
                    for (int c = 0; c < channels; c++)
                    {
                        float upper = t0[c] + (t1[c] - t0[c]) * wx;
                        float lower = b0[c] + (b1[c] - b0[c]) * wx;
                        d[c] = upper + (lower - upper) * fy;
                    }
                }
            }
        });
    }

    private static void SourceIndex(int dst, float scale, int size, bool bilinear, out int i0, out int i1, out float frac)
    {
        if (!bilinear)
        {
            i0 = i1 = Math.Min((int)MathF.Floor(dst * scale), size - 1);
            frac = 0;
            return;
        }
        float src = MathF.Max((dst + 0.5f) * scale - 0.5f, 0f);
        i0 = Math.Min((int)src, size - 1);
        i1 = Math.Min(i0 + 1, size - 1);
        frac = src - i0;
    }

    /// <summary>Copies the [outer, inner] blocks of each part next to each other: concatenation along one axis.</summary>
    public static void Concat(float*[] parts, long[] inner, float* y, long outer)
    {
        long total = 0;
        foreach (long n in inner) total += n;
        for (long o = 0; o < outer; o++)
        {
            float* dst = y + o * total;
            for (int p = 0; p < parts.Length; p++)
            {
                long bytes = inner[p] * sizeof(float);
                Buffer.MemoryCopy(parts[p] + o * inner[p], dst, bytes, bytes);
                dst += inner[p];
            }
        }
    }

    /// <summary>
    /// diffusers' get_timestep_embedding: half = dim/2, f_i = exp(−ln(10000)·i/(half − shift)),
    /// [sin(t·f), cos(t·f)] (or cos first when flipped), zero-padded when dim is odd.
    /// </summary>
    public static void TimestepEmbedding(float* timesteps, float* y, int count, int dim, bool flipSinToCos, float shift)
    {
        int half = dim / 2;
        for (int n = 0; n < count; n++)
        {
            float* row = y + (long)n * dim;
            for (int i = 0; i < half; i++)
            {
                float exponent = -MathF.Log(10000f) * i / (half - shift);
                float arg = timesteps[n] * MathF.Exp(exponent);
                float sin = MathF.Sin(arg), cos = MathF.Cos(arg);
                row[i] = flipSinToCos ? cos : sin;
                row[half + i] = flipSinToCos ? sin : cos;
            }
            if (dim % 2 == 1) row[dim - 1] = 0;
        }
    }
}
