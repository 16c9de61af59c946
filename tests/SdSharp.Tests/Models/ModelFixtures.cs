using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Tests.Models;

/// <summary>The tiny diffusers-made model fixtures (tools/reference/make_model_fixtures.py) and helpers to compare with them.</summary>
internal static class ModelFixtures
{
    public static readonly string[] Families = ["sd1", "sd2", "sdxl", "refiner", "sd1-inpaint"];

    /// <summary>Every family, as its single file (true) and as its diffusers folder (false).</summary>
    public static TheoryData<string, bool> FamiliesAndLayouts()
    {
        var data = new TheoryData<string, bool>();
        foreach (string family in Families)
        {
            data.Add(family, true);
            data.Add(family, false);
        }
        return data;
    }

    public static string SingleFile(string family) => TestPaths.Fixture("models", family, "single.safetensors");
    public static string DiffusersFolder(string family) => TestPaths.Fixture("models", family, "diffusers");
    public static SafetensorsFile Reference(string family) => SafetensorsFile.Open(TestPaths.Fixture("models", family, "reference.safetensors"));

    /// <summary>A reference tensor as fp32 values and its shape.</summary>
    public static (float[] Values, int[] Shape) Read(SafetensorsFile file, string name)
    {
        var entry = file.Find(name) ?? throw new InvalidOperationException($"fixture has no {name}");
        return (entry.ToFloat32(), entry.Shape.Select(d => (int)d).ToArray());
    }

    /// <summary>NCHW (as diffusers computes) → NHWC (as SdSharp computes).</summary>
    public static float[] ToNhwc(float[] x, int[] nchw)
    {
        int n = nchw[0], c = nchw[1], h = nchw[2], w = nchw[3];
        var y = new float[x.Length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < h * w; i++)
                    y[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i];
        return y;
    }

    /// <summary>Uploads an NCHW reference tensor as NHWC.</summary>
    public static Tensor UploadNhwc(IBackend backend, SafetensorsFile reference, string name)
    {
        var (values, shape) = Read(reference, name);
        return backend.FromHost(ToNhwc(values, shape), new Shape(shape[0], shape[2], shape[3], shape[1]));
    }

    public static Tensor Upload(IBackend backend, SafetensorsFile reference, string name)
    {
        var (values, shape) = Read(reference, name);
        return backend.FromHost(values, new Shape(shape));
    }
}
