using System.Numerics;

namespace SdSharp.Addons;

/// <summary>The few dense products the add-on formulas need, on fp32 arrays in row-major order.</summary>
internal static class HostMath
{
    /// <summary>C [m, n] = A [m, k] · B [k, n]; rows in parallel, each row accumulated as a sum of scaled rows of B.</summary>
    public static float[] MatMul(float[] a, float[] b, int m, int k, int n)
    {
        if (a.Length != (long)m * k || b.Length != (long)k * n)
            throw new ArgumentException($"cannot multiply [{m}, {k}] by a {b.Length}-element [{k}, {n}]");
        var c = new float[(long)m * n];
        Parallel.For(0, m, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            Span<float> row = c.AsSpan(i * n, n);
            for (int p = 0; p < k; p++)
            {
                float s = a[(long)i * k + p];
                if (s != 0) AddScaled(row, b.AsSpan(p * n, n), s);
            }
        });
        return c;
    }

    /// <summary>Aᵀ for A [rows, cols].</summary>
    public static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[(long)c * rows + r] = a[(long)r * cols + c];
        return t;
    }

    /// <summary>y += s·x.</summary>
    public static void AddScaled(Span<float> y, ReadOnlySpan<float> x, float s)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vs = new Vector<float>(s);
            for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(y[i..]) + vs * new Vector<float>(x[i..])).CopyTo(y[i..]);
        }
        for (; i < y.Length; i++) y[i] += s * x[i];
    }

    /// <summary>x *= s.</summary>
    public static void Scale(Span<float> x, float s)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= s;
    }
}
