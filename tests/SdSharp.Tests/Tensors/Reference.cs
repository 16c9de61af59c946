namespace SdSharp.Tests.Tensors;

/// <summary>Plain double-precision loops that define what each backend op must compute.</summary>
internal static class Reference
{
    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (rng.NextSingle() * 2 - 1) * scale;
        return x;
    }

    /// <summary>y[m, n] = Σ_k x[m, k]·w[n, k] + bias[n] + residual[m, n].</summary>
    public static float[] Linear(float[] x, float[] w, float[]? bias, float[]? residual, int m, int n, int k)
    {
        var y = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = bias?[j] ?? 0;
                if (residual != null) s += residual[i * n + j];
                for (int p = 0; p < k; p++) s += (double)x[i * k + p] * w[j * k + p];
                y[i * n + j] = (float)s;
            }
        return y;
    }

    /// <summary>NHWC convolution with OHWI weights, zero or circular padding, asymmetric pads.</summary>
    public static float[] Conv2d(float[] x, float[] w, float[]? bias, int batch, int h, int wd, int cin, int cout, int kh, int kw,
        int stride, int padTop, int padLeft, int padBottom, int padRight, bool circular)
    {
        int oh = (h + padTop + padBottom - kh) / stride + 1, ow = (wd + padLeft + padRight - kw) / stride + 1;
        var y = new float[batch * oh * ow * cout];
        for (int b = 0; b < batch; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int co = 0; co < cout; co++)
                    {
                        double s = bias?[co] ?? 0;
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int iy = oy * stride + ky - padTop, ix = ox * stride + kx - padLeft;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                                {
                                    if (!circular) continue;
                                    iy = ((iy % h) + h) % h;
                                    ix = ((ix % wd) + wd) % wd;
                                }
                                for (int ci = 0; ci < cin; ci++)
                                    s += (double)x[((b * h + iy) * wd + ix) * cin + ci] * w[((co * kh + ky) * kw + kx) * cin + ci];
                            }
                        y[((b * oh + oy) * ow + ox) * cout + co] = (float)s;
                    }
        return y;
    }

    public static float[] Attention(float[] q, float[] k, float[] v, int batch, int lq, int lk, int heads, int d, bool causal)
    {
        int c = heads * d;
        var y = new float[batch * lq * c];
        var scores = new double[lk];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < lq; i++)
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < lk; j++)
                    {
                        if (causal && j > i) { scores[j] = double.NegativeInfinity; continue; }
                        double s = 0;
                        for (int t = 0; t < d; t++) s += (double)q[(b * lq + i) * c + h * d + t] * k[(b * lk + j) * c + h * d + t];
                        scores[j] = s / Math.Sqrt(d);
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < lk; j++) sum += scores[j] = Math.Exp(scores[j] - max);
                    for (int t = 0; t < d; t++)
                    {
                        double o = 0;
                        for (int j = 0; j < lk; j++) o += scores[j] * v[(b * lk + j) * c + h * d + t];
                        y[(b * lq + i) * c + h * d + t] = (float)(o / sum);
                    }
                }
        return y;
    }

    public static float[] GroupNorm(float[] x, float[] gamma, float[] beta, int batch, int spatial, int channels, int groups, float eps, bool silu)
    {
        var y = new float[x.Length];
        int per = channels / groups;
        for (int b = 0; b < batch; b++)
            for (int g = 0; g < groups; g++)
            {
                double sum = 0, sq = 0;
                for (int s = 0; s < spatial; s++)
                    for (int c = g * per; c < (g + 1) * per; c++) sum += x[(b * spatial + s) * channels + c];
                double mean = sum / (spatial * per);
                for (int s = 0; s < spatial; s++)
                    for (int c = g * per; c < (g + 1) * per; c++) { double dd = x[(b * spatial + s) * channels + c] - mean; sq += dd * dd; }
                double rstd = 1 / Math.Sqrt(sq / (spatial * per) + eps);
                for (int s = 0; s < spatial; s++)
                    for (int c = g * per; c < (g + 1) * per; c++)
                    {
                        int i = (b * spatial + s) * channels + c;
                        double v = (x[i] - mean) * rstd * gamma[c] + beta[c];
                        y[i] = (float)(silu ? v / (1 + Math.Exp(-v)) : v);
                    }
            }
        return y;
    }

    public static float[] LayerNorm(float[] x, float[] gamma, float[] beta, int rows, int channels, float eps)
    {
        var y = new float[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, var = 0;
            for (int c = 0; c < channels; c++) mean += x[r * channels + c];
            mean /= channels;
            for (int c = 0; c < channels; c++) { double d = x[r * channels + c] - mean; var += d * d; }
            double rstd = 1 / Math.Sqrt(var / channels + eps);
            for (int c = 0; c < channels; c++) y[r * channels + c] = (float)((x[r * channels + c] - mean) * rstd * gamma[c] + beta[c]);
        }
        return y;
    }

    public static double Erf(double x)
    {
        // Series / continued fraction would do; for test tolerances a high-order Taylor series around 0 and
        // the asymptotic complement beyond 3 are exact to ~1e-12.
        double ax = Math.Abs(x);
        double result;
        if (ax < 3)
        {
            double sum = ax, term = ax;
            for (int n = 1; n < 200; n++)
            {
                term *= -ax * ax / n;
                sum += term / (2 * n + 1);
            }
            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double t = 1, sum = 1;
            for (int n = 1; n < 12; n++) { t *= -(2 * n - 1) / (2 * ax * ax); sum += t; }
            result = 1 - Math.Exp(-ax * ax) / (ax * Math.Sqrt(Math.PI)) * sum;
        }
        return x < 0 ? -result : result;
    }

    public static void AssertClose(float[] expected, float[] actual, double tolerance, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            if (double.IsNaN(actual[i]) || diff > worst) { worst = double.IsNaN(actual[i]) ? double.PositiveInfinity : diff; at = i; }
        }
        Assert.True(worst <= tolerance, $"{what} max abs error {worst:G4} at {at} (expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)}), tolerance {tolerance}");
    }
}
