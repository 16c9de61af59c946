using SdSharp.Cuda;
using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Bench;

/// <summary>The GPU checks' shared pieces: reference tensors from a fixture file, their comparison, switching graphs off.</summary>
internal static class ReferenceTensors
{
    /// <summary>A reference NCHW tensor's values in NHWC order.</summary>
    public static float[] NhwcValues(SafetensorsFile reference, string name)
    {
        var e = reference.Find(name)!;
        var v = e.ToFloat32();
        int n = (int)e.Shape[0], c = (int)e.Shape[1], hw = (int)(e.Shape[2] * e.Shape[3]);
        var y = new float[v.Length];
        for (int b = 0; b < n; b++) for (int ch = 0; ch < c; ch++) for (int i = 0; i < hw; i++) y[(b * hw + i) * c + ch] = v[(b * c + ch) * hw + i];
        return y;
    }

    /// <summary>A reference NCHW tensor as an NHWC tensor on <paramref name="backend"/>.</summary>
    public static Tensor Nhwc(IBackend backend, SafetensorsFile reference, string name)
    {
        var e = reference.Find(name)!;
        return backend.FromHost(NhwcValues(reference, name), new Shape((int)e.Shape[0], (int)e.Shape[2], (int)e.Shape[3], (int)e.Shape[1]));
    }

    /// <summary>A reference tensor as stored.</summary>
    public static Tensor Plain(IBackend backend, SafetensorsFile reference, string name)
    {
        var e = reference.Find(name)!;
        return backend.FromHost(e.ToFloat32(), new Shape(e.Shape.Select(d => (int)d).ToArray()));
    }

    /// <summary>‖expected − actual‖ / ‖expected‖.</summary>
    public static double RelativeL2(float[] expected, float[] actual)
    {
        double num = 0, den = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = expected[i] - (double)actual[i];
            num += d * d;
            den += expected[i] * (double)expected[i];
        }
        return Math.Sqrt(num / Math.Max(den, 1e-30));
    }

    /// <summary>measure() with the backend's CUDA graphs off, on again after.</summary>
    public static T WithoutGraphs<T>(this CudaBackend gpu, Func<T> measure)
    {
        gpu.UseGraphs = false;
        try
        {
            return measure();
        }
        finally
        {
            gpu.UseGraphs = true;
        }
    }
}
