using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using SdSharp.Cpu;
using SdSharp.Diagnostics;
using SdSharp.IO;
using SdSharp.Models;
using SdSharp.Models.Unet;
using SdSharp.Tensors;

namespace SdSharp.Bench;

/// <summary>
/// Full-size SD 1.5 on the CPU backend: writes a random-weight fp16 single file with the real keys and shapes
/// (from tests/fixtures/models/shapes/sd1.json) once, then measures opening it, loading the UNet (time and peak
/// resident memory) and one guided UNet step at 512×512 (batch 2, 64×64 latents), with a per-op profile.
/// </summary>
internal static class SdCpuBench
{
    public static void Run(int threads, string family = "sd1")
    {
        string root = FindRoot();
        string path = Path.Combine(root, "artifacts", "bench", $"random-{family}-fp16.safetensors");
        if (!File.Exists(path)) WriteRandomCheckpoint(Path.Combine(root, "tests", "fixtures", "models", "shapes", family + ".json"), path);
        Console.WriteLine($"checkpoint: {path} ({new FileInfo(path).Length / 1e9:F2} GB)");
        Console.WriteLine($"resident memory before loading: {ResidentMB():F0} MB");

        var sw = Stopwatch.StartNew();
        using var checkpoint = Checkpoint.Open(path);
        double openSeconds = sw.Elapsed.TotalSeconds;
        var profiled = new ProfilingBackend(new CpuBackend(threads));
        sw.Restart();
        using var unet = new UNetModel(profiled, checkpoint.Unet, checkpoint.UnetConfig);
        double loadSeconds = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"open + detect: {openSeconds:F2} s ({Checkpoint.Describe(checkpoint.Family)}); UNet weights on the backend: {loadSeconds:F2} s; resident {ResidentMB():F0} MB (peak {PeakResidentMB():F0} MB)");

        int latent = 64;
        using var x = profiled.FromHost(Random(2 * latent * latent * 4, 1), new Shape(2, latent, latent, 4));
        using var t = profiled.Scalars([500f, 500f]);
        using var context = profiled.FromHost(Random(2 * 77 * checkpoint.UnetConfig.ContextDim, 2), new Shape(2, 77, checkpoint.UnetConfig.ContextDim));
        for (int step = 0; step < 2; step++)
        {
            profiled.Reset();
            sw.Restart();
            using var output = unet.Forward(x, t, context);
            Console.WriteLine($"guided step (batch 2, {latent}×{latent} latents), run {step + 1}: {sw.Elapsed.TotalSeconds:F2} s");
        }
        Console.WriteLine($"peak resident memory: {PeakResidentMB():F0} MB");
        Console.WriteLine(profiled.Report());
    }

    private static void WriteRandomCheckpoint(string shapesJson, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var json = JsonDocument.Parse(File.ReadAllBytes(shapesJson));
        var specs = json.RootElement.EnumerateObject()
            .Select(p => new TensorSpec(p.Name, ElementType.F16, p.Value.EnumerateArray().Select(v => v.GetInt64()).ToArray())).ToList();
        Console.WriteLine($"writing a random-weight checkpoint ({specs.Count} tensors) to {path} ...");
        using var writer = SafetensorsWriter.Create(path, specs);
        var rng = new Random(1234);
        foreach (var spec in specs)
        {
            long n = spec.ElementCount;
            var data = new Half[n];
            // Norm weights near 1, everything else scaled by 1/√fan-in so activations stay finite through the net.
            bool norm = spec.Shape.Length == 1 && (spec.Name.Contains("norm") || spec.Name.Contains("ln_")) && spec.Name.EndsWith("weight");
            double scale = spec.Shape.Length > 1 ? 1.0 / Math.Sqrt(n / spec.Shape[0]) : 0.05;
            for (long i = 0; i < n; i++) data[i] = (Half)((norm ? 1.0 : 0.0) + scale * (rng.NextDouble() * 2 - 1) * 1.7);
            writer.WriteTensor(spec.Name, MemoryMarshal.AsBytes(data.AsSpan()));
        }
        writer.Commit();
    }

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rng.NextSingle() * 2 - 1;
        return x;
    }

    private static double ResidentMB() => StatusKilobytes("VmRSS:") / 1024.0;
    private static double PeakResidentMB() => StatusKilobytes("VmHWM:") / 1024.0;

    private static long StatusKilobytes(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SdSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException("run from within the repository");
    }
}
