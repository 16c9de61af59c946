using System.Diagnostics;
using System.Text.Json;
using SdSharp.Cuda;
using SdSharp.Diagnostics;
using SdSharp.Generation;
using SdSharp.IO;
using SdSharp.Models;
using SdSharp.Models.Unet;
using SdSharp.Models.Vae;
using SdSharp.Tensors;

namespace SdSharp.Bench;

/// <summary>
/// SdSharp's side of bench/run-gpu.sh: loads the diffusers folders tools/reference/bench_diffusers.py wrote (the
/// same random weights diffusers was timed on), times the same work on the CUDA backend and prints one table
/// with diffusers' figures and the ratios.
/// </summary>
internal static class GpuBench
{
    public static int Run(string modelsDir, string diffusersJson, DType dtype)
    {
        using var gpu = CudaBackend.Create(dtype);
        Console.WriteLine($"backend: {gpu.Name}");
        var ours = new Dictionary<string, (double Ms, double PeakMb)>();
        var withoutGraphs = new Dictionary<string, (double Ms, double PeakMb)>(); // the same steps without CUDA graphs
        (double Ms, double PeakMb) tiled;
        using (var sd15 = Checkpoint.Open(Path.Combine(modelsDir, "sd15")))
        {
            using (var unet = new UNetModel(gpu, sd15.Unet, sd15.UnetConfig))
            {
                using (var inputs = new StepInputs(gpu, 64, 768, null))
                {
                    ours["sd15_step"] = Time(gpu, () => inputs.Step(unet));
                    withoutGraphs["sd15_step"] = gpu.WithoutGraphs(() => Time(gpu, () => inputs.Step(unet)));
                }
                Profile(gpu, sd15, "SD 1.5", 64, 768, null);
            }
            var vaeConfig = VaeConfig.FromDiffusers(((DiffusersFolder)sd15.File).Component("vae").Config);
            using var vae = new AutoencoderKL(gpu, sd15.Vae!, vaeConfig);
            ours["vae_decode_512"] = Time(gpu, () => Decode(gpu, vae, 64));
            ours["vae_decode_1024"] = Time(gpu, () => Decode(gpu, vae, 128));
            // Too large to decode whole (its full-size activations pass the 2³¹ elements cuDNN indexes): the VAE falls back to tiles.
            tiled = Time(gpu, () => Decode(gpu, vae, 512), warmups: 1, runs: 2);
        }
        using (var sdxl = Checkpoint.Open(Path.Combine(modelsDir, "sdxl")))
        using (var unet = new UNetModel(gpu, sdxl.Unet, sdxl.UnetConfig))
        {
            using (var inputs = new StepInputs(gpu, 128, 2048, 1280))
            {
                ours["sdxl_step"] = Time(gpu, () => inputs.Step(unet));
                withoutGraphs["sdxl_step"] = gpu.WithoutGraphs(() => Time(gpu, () => inputs.Step(unet)));
            }
            Profile(gpu, sdxl, "SDXL", 128, 2048, 1280);
        }

        using var reference = JsonDocument.Parse(File.ReadAllBytes(diffusersJson));
        var r = reference.RootElement;
        if (r.TryGetProperty("sd15_image_512", out _))
        {
            ours["sd15_image_512"] = WholeImage(gpu, Path.Combine(modelsDir, "sd15"));
            withoutGraphs["sd15_image_512"] = gpu.WithoutGraphs(() => WholeImage(gpu, Path.Combine(modelsDir, "sd15")));
        }
        Console.WriteLine($"device: {r.GetProperty("device").GetString()}, torch {r.GetProperty("torch").GetString()}");
        Console.WriteLine($"{"work",-18} {"SdSharp ms",11} {"peak MB",8} | {"diffusers eager",15} {"peak MB",8} {"ratio",6} | {"reduce-overhead",15} {"ratio",6}");
        foreach (var (name, (ms, peak)) in ours)
        {
            var d = r.GetProperty(name);
            double eager = d.GetProperty("eager_ms").GetDouble(), eagerPeak = d.GetProperty("eager_peak_mb").GetDouble();
            string compiled = d.TryGetProperty("reduce_overhead_ms", out var ro) ? $"{ro.GetDouble(),15:F2} {ms / ro.GetDouble(),6:F2}" : $"{"-",15} {"-",6}";
            Console.WriteLine(FormattableString.Invariant($"{name,-18} {ms,11:F2} {peak,8:F0} | {eager,15:F2} {eagerPeak,8:F0} {ms / eager,6:F2} | {compiled}"));
        }
        Console.WriteLine("(ms per call, mean of 20 after 3 warm-ups, of 3 after 1 for a whole image; ratio = SdSharp / diffusers, below 1 is faster; peak = memory in live tensors)");
        foreach (var (name, (ms, peak)) in withoutGraphs)
            Console.WriteLine(FormattableString.Invariant($"{name} without CUDA graphs: {ms:F2} ms, peak {peak:F0} MB"));
        Console.WriteLine(FormattableString.Invariant($"vae_decode_4096 (SD 1.5 VAE, in tiles): {tiled.Ms:F0} ms, peak {tiled.PeakMb:F0} MB"));
        Console.WriteLine(gpu.GraphStatistics);
        return 0;
    }

    /// <summary>
    /// A whole txt2img image as bench_diffusers.py times diffusers' pipeline: prompt and negative prompt encoded,
    /// 20 Euler steps with CFG 7 at 512×512, decoded to pixels (mean of 3 after one warm-up).
    /// </summary>
    private static (double Ms, double PeakMb) WholeImage(CudaBackend gpu, string folder)
    {
        using var model = StableDiffusionModel.Load(folder, gpu);
        var generator = new Generator(model);
        var request = new GenerationRequest
        {
            Prompt = "a photograph of an astronaut riding a horse", NegativePrompt = "blurry, low quality", Steps = 20, SamplerName = "Euler",
            CfgScale = 7, Width = 512, Height = 512, Seed = 1,
        };
        return Time(gpu, () => generator.Generate(request), warmups: 1, runs: 3);
    }

    /// <summary>Where a guided step's time goes, by op (a second copy of the UNet on a profiling wrapper).</summary>
    private static void Profile(CudaBackend gpu, Checkpoint checkpoint, string label, int latent, int contextDim, int? pooled)
    {
        var profiled = new ProfilingBackend(gpu);
        using var unet = new UNetModel(profiled, checkpoint.Unet, checkpoint.UnetConfig);
        using var inputs = new StepInputs(profiled, latent, contextDim, pooled);
        inputs.Step(unet);
        profiled.Reset();
        inputs.Step(unet);
        Console.WriteLine($"{label} step, by op (synchronised after every op, so slower than the real step):");
        Console.WriteLine(profiled.Report());
    }

    private static (double Ms, double PeakMb) Time(CudaBackend gpu, Action work, int warmups = 3, int runs = 20)
    {
        for (int i = 0; i < warmups; i++) work();
        gpu.Synchronize();
        gpu.ResetPeakMemory();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < runs; i++) work();
        gpu.Synchronize();
        return (sw.Elapsed.TotalMilliseconds / runs, gpu.PeakInUseBytes / 1e6);
    }

    /// <summary>
    /// A guided step's UNet inputs (batch 2), made once as the pipeline makes its conditioning once; each step
    /// writes its timesteps on the device as the denoiser does.
    /// </summary>
    private sealed class StepInputs(IBackend b, int latent, int contextDim, int? pooled) : IDisposable
    {
        private readonly Tensor _x = b.Full(new Shape(2, latent, latent, 4), 0.1f);
        private readonly Tensor _context = b.Full(new Shape(2, 77, contextDim), 0.05f);
        private readonly Tensor? _textEmbeds = pooled is int p ? b.Full(new Shape(2, p), 0.05f) : null;
        private readonly Tensor? _timeIds = pooled != null ? b.FromHost([1024, 1024, 0, 0, 1024, 1024, 1024, 1024, 0, 0, 1024, 1024], new Shape(2, 6)) : null;

        public void Step(UNetModel unet)
        {
            using var t = b.Scalars([500f, 500f]);
            using var output = unet.Forward(_x, t, _context, _textEmbeds, _timeIds);
        }

        public void Dispose()
        {
            _x.Dispose();
            _context.Dispose();
            _textEmbeds?.Dispose();
            _timeIds?.Dispose();
        }
    }

    private static void Decode(IBackend b, AutoencoderKL vae, int latent)
    {
        using var z = b.Full(new Shape(1, latent, latent, 4), 0.1f);
        using var image = vae.Decode(z);
    }
}
