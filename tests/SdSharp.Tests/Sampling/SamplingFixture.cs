using System.Text.Json;
using SdSharp.Cpu;
using SdSharp.Sampling;
using SdSharp.Sampling.Random;
using SdSharp.Tensors;

namespace SdSharp.Tests.Sampling;

/// <summary>
/// tests/fixtures/sampling/a1111_samplers.json, made by tools/reference/make_sampler_fixtures.py from A1111 1.10.1,
/// k-diffusion ab527a9a and torchsde 0.2.6 with an analytic stand-in network (data ~ N(μ, s²) per element).
/// </summary>
public static class SamplingFixture
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("sampling", "a1111_samplers.json"))));

    public static JsonElement Root => Document.Value.RootElement;

    public static NoiseShape Shape
    {
        get
        {
            int[] s = Floats(Root.GetProperty("shape")).Select(v => (int)v).ToArray();
            return new NoiseShape(s[0], s[1], s[2]);
        }
    }

    public static double S2 => Root.GetProperty("s2").GetDouble();
    public static float[] Mu => Floats(Root.GetProperty("mu"));
    public static float[] Init => Floats(Root.GetProperty("init"));

    public static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(e => (float)e.GetDouble())];
    public static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];

    public static IReadOnlyList<JsonElement> Cases(string section) => [.. Root.GetProperty(section).EnumerateArray()];

    public static TheoryData<int, string> Rows(string section, Func<JsonElement, string> describe)
    {
        var rows = new TheoryData<int, string>();
        var cases = Cases(section);
        for (int i = 0; i < cases.Count; i++) rows.Add(i, describe(cases[i]));
        return rows;
    }

    /// <summary>Largest |a − b| relative to max(|b|) over the array, and the worst index.</summary>
    public static (double Error, int Index) RelativeError(float[] actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(expected.Max(v => Math.Abs(v)), 1e-30);
        double worst = 0; int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(actual[i] - expected[i]) / scale;
            if (double.IsNaN(actual[i]) || e > worst) { worst = double.IsNaN(actual[i]) ? double.PositiveInfinity : e; at = i; }
        }
        return (worst, at);
    }
}

/// <summary>
/// The stand-in network behind the fixture, called through <see cref="ModelWrapper"/> as the pipeline will call
/// the UNet: it gets x·c_in and the timestep, and returns ε (or v) of the analytic data distribution at the
/// timestep's σ on the base table.
/// </summary>
public sealed class AnalyticDenoiser(IBackend backend, ModelWrapper wrapper, Tensor mu, double s2) : IDenoiser
{
    public int Calls { get; private set; }

    public Tensor Denoise(Tensor x, double sigma)
    {
        Calls++;
        ModelCall call = wrapper.At(sigma);
        using Tensor input = backend.Affine(x, (float)call.InputScale);
        using Tensor output = Network(input, call.Timestep);
        return backend.Axpby((float)call.Skip, x, (float)call.Output, output);
    }

    private Tensor Network(Tensor u, double t)
    {
        double s = NoiseSchedule.StableDiffusion.TToSigma(t), c = Math.Sqrt(s * s + 1), q = s / (s2 + s * s);
        return wrapper.Prediction == Prediction.V
            ? backend.Axpby((float)(q * (1 - s2)), u, (float)(-q * c), mu)
            : backend.Axpby((float)(q * c), u, (float)(-q), mu);
    }

    /// <summary>The fixture's μ repeated for each image, as a [B, C, H, W] tensor.</summary>
    public static Tensor Mu(IBackend backend, int batch)
    {
        float[] mu = SamplingFixture.Mu;
        NoiseShape shape = SamplingFixture.Shape;
        var all = new float[batch * mu.Length];
        for (int b = 0; b < batch; b++) mu.CopyTo(all, b * mu.Length);
        return backend.FromHost(all, new Shape(batch, shape.Channels, shape.Height, shape.Width));
    }
}

/// <summary>One CPU backend for the sampling tests.</summary>
public static class TestBackend
{
    public static CpuBackend Cpu { get; } = new(1);

    /// <summary>Stacks per-image CHW arrays into [B, C, H, W].</summary>
    public static Tensor Stack(float[][] images, NoiseShape shape)
    {
        var all = new float[images.Length * shape.Count];
        for (int i = 0; i < images.Length; i++) images[i].CopyTo(all, i * shape.Count);
        return Cpu.FromHost(all, new Shape(images.Length, shape.Channels, shape.Height, shape.Width));
    }
}
