using System.Numerics;

namespace SdSharp.Cpu;

internal static unsafe class NormKernels
{
    private const int RowsPerPartial = 64;

    /// <summary>
    /// Group norm of x [batch, spatial, channels]: mean and variance per (batch, group) over spatial × channels
    /// of the group, in two passes (mean, then squared deviations) with per-channel float sums over short runs
    /// promoted to double, so large maps lose no precision. Then y = x·scale[c] + shift[c] (+ SiLU).
    /// </summary>
    public static void GroupNorm(CpuParallel parallel, float* x, float* y, int batch, int spatial, int channels,
        int groups, float* gamma, float* beta, float eps, bool silu)
    {
        int perGroup = channels / groups;
        var scale = new float[batch * channels];
        var shift = new float[batch * channels];
        for (int b = 0; b < batch; b++)
        {
            float* xb = x + (long)b * spatial * channels;
            double[] sums = ChannelSums(parallel, xb, spatial, channels, null);
            var mean = new float[groups];
            for (int g = 0; g < groups; g++)
            {
                double s = 0;
                for (int c = g * perGroup; c < (g + 1) * perGroup; c++) s += sums[c];
                mean[g] = (float)(s / ((double)spatial * perGroup));
            }
            var channelMean = new float[channels];
            for (int c = 0; c < channels; c++) channelMean[c] = mean[c / perGroup];
            double[] squares;
            fixed (float* m = channelMean) squares = ChannelSums(parallel, xb, spatial, channels, m);
            for (int g = 0; g < groups; g++)
            {
                double s = 0;
                for (int c = g * perGroup; c < (g + 1) * perGroup; c++) s += squares[c];
                float rstd = (float)(1.0 / Math.Sqrt(s / ((double)spatial * perGroup) + eps));
                for (int c = g * perGroup; c < (g + 1) * perGroup; c++)
                {
                    scale[b * channels + c] = rstd * gamma[c];
                    shift[b * channels + c] = beta[c] - mean[g] * rstd * gamma[c];
                }
            }
        }
        fixed (float* sc = scale, sh = shift)
        {
            float* scp = sc, shp = sh;
            parallel.ForRanges((long)batch * spatial, 256, (start, end) =>
            {
                for (long row = start; row < end; row++)
                {
                    long b = row / spatial;
                    float* xr = x + row * channels, yr = y + row * channels;
                    if (silu) ElementwiseKernels.ScaleShiftRow<SiluOp>(xr, scp + b * channels, shp + b * channels, yr, channels);
                    else ElementwiseKernels.ScaleShiftRow<IdentityOp>(xr, scp + b * channels, shp + b * channels, yr, channels);
                }
            });
        }
    }

    /// <summary>Per-channel Σx (or Σ(x − mean[c])² when mean is given) over the rows of x [rows, channels].</summary>
    private static double[] ChannelSums(CpuParallel parallel, float* x, int rows, int channels, float* mean)
    {
        var total = new double[channels];
        parallel.ForRanges(rows, 512, (start, end) =>
        {
            var local = new double[channels];
            float* partial = stackalloc float[channels];
            for (long r0 = start; r0 < end; r0 += RowsPerPartial)
            {
                new Span<float>(partial, channels).Clear();
                long r1 = Math.Min(end, r0 + RowsPerPartial);
                for (long r = r0; r < r1; r++) AccumulateRow(x + r * channels, mean, partial, channels);
                for (int c = 0; c < channels; c++) local[c] += partial[c];
            }
            lock (total)
                for (int c = 0; c < channels; c++) total[c] += local[c];
        });
        return total;
    }

    private static void AccumulateRow(float* row, float* mean, float* acc, int channels)
    {
        int c = 0, w = Vector<float>.Count;
        if (mean == null)
        {
            for (; c <= channels - w; c += w) (Vector.Load(acc + c) + Vector.Load(row + c)).Store(acc + c);
            for (; c < channels; c++) acc[c] += row[c];
        }
        else
        {
            for (; c <= channels - w; c += w)
            {
                var d = Vector.Load(row + c) - Vector.Load(mean + c);
                Vector.FusedMultiplyAdd(d, d, Vector.Load(acc + c)).Store(acc + c);
            }
            for (; c < channels; c++)
            {
                float d = row[c] - mean[c];
                acc[c] += d * d;
            }
        }
    }

    /// <summary>Layer norm over each row of x [rows, channels] (two-pass mean/variance in double).</summary>
    public static void LayerNorm(CpuParallel parallel, float* x, float* y, long rows, int channels, float* gamma, float* beta, float eps)
    {
        parallel.ForRanges(rows, 16, (start, end) =>
        {
            for (long r = start; r < end; r++)
            {
                float* xr = x + r * channels, yr = y + r * channels;
                double sum = 0;
                for (int c = 0; c < channels; c++) sum += xr[c];
                float mean = (float)(sum / channels);
                double squares = 0;
                for (int c = 0; c < channels; c++)
                {
                    double d = xr[c] - mean;
                    squares += d * d;
                }
                float rstd = (float)(1.0 / Math.Sqrt(squares / channels + eps));
                int i = 0, w = Vector<float>.Count;
                var vm = new Vector<float>(mean);
                var vr = new Vector<float>(rstd);
                for (; i <= channels - w; i += w)
                {
                    var n = (Vector.Load(xr + i) - vm) * vr * Vector.Load(gamma + i);
                    (beta == null ? n : n + Vector.Load(beta + i)).Store(yr + i);
                }
                for (; i < channels; i++) yr[i] = (xr[i] - mean) * rstd * gamma[i] + (beta == null ? 0 : beta[i]);
            }
        });
    }
}
