using SdSharp.Cpu;
using SdSharp.Cuda;
using SdSharp.IO;
using SdSharp.Models;
using SdSharp.Models.Unet;
using SdSharp.Models.Vae;
using SdSharp.Tensors;

namespace SdSharp.Bench;

/// <summary>
/// Every backend op on CUDA against the CPU backend (the reference) on random inputs, in fp32 and fp16, and the
/// tiny UNet fixtures against diffusers' outputs: the GPU machine's correctness check. Prints one line per case.
/// </summary>
internal static class CudaCheck
{
    public static int Run(string repoRoot)
    {
        using var cpu = new CpuBackend();
        int failures = 0;
        foreach (var dtype in new[] { DType.F32, DType.F16, DType.BF16 })
        {
            using var gpu = CudaBackend.Create(dtype);
            Console.WriteLine($"== {gpu.Name}");
            // bf16 keeps 8 mantissa bits to fp16's 11: its rounding error is 8× larger.
            double tolerance = dtype switch { DType.F32 => 2e-4, DType.F16 => 2e-2, _ => 6e-2 };
            foreach (var (name, op) in Cases())
            {
                try
                {
                    var (expected, actual) = (op(cpu), op(gpu));
                    double error = RelativeError(expected, actual);
                    bool ok = error <= tolerance && !actual.Any(float.IsNaN);
                    if (!ok) failures++;
                    Console.WriteLine(FormattableString.Invariant($"{(ok ? "ok  " : "FAIL")} {name,-40} relative error {error:E2}"));
                }
                catch (Exception e)
                {
                    failures++;
                    Console.WriteLine($"FAIL {name,-40} {e.GetType().Name}: {e.Message}");
                }
            }
            foreach (string family in new[] { "sd1", "sd2", "sdxl", "refiner", "sd1-inpaint" })
            {
                try
                {
                    var (error, graphError) = UNetFixtureError(gpu, repoRoot, family);
                    bool ok = error <= dtype switch { DType.F32 => 1e-4, DType.F16 => 3e-2, _ => 1e-1 };
                    if (!ok) failures++;
                    Console.WriteLine(FormattableString.Invariant($"{(ok ? "ok  " : "FAIL")} {"unet fixture " + family,-40} relative L2 vs diffusers {error:E2}"));
                    // Replays run the recorded kernels on the same values: anything but (nearly) no difference is a wrong replay.
                    bool graphOk = graphError <= 1e-6;
                    if (!graphOk) failures++;
                    Console.WriteLine(FormattableString.Invariant($"{(graphOk ? "ok  " : "FAIL")} {"unet graph " + family,-40} relative L2 vs eager {graphError:E2}"));
                }
                catch (Exception e)
                {
                    failures++;
                    Console.WriteLine($"FAIL unet fixture {family}: {e.GetType().Name}: {e.Message}");
                }
            }
            try
            {
                double error = TiledVaeError(gpu, repoRoot);
                bool ok = error <= dtype switch { DType.F32 => 1e-4, DType.F16 => 3e-2, _ => 1e-1 };
                if (!ok) failures++;
                Console.WriteLine(FormattableString.Invariant($"{(ok ? "ok  " : "FAIL")} {"vae tiled decode sd1",-40} relative L2 vs diffusers' tiling {error:E2}"));
            }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"FAIL vae tiled decode: {e.GetType().Name}: {e.Message}");
            }
            Console.WriteLine($"peak device memory: {gpu.PeakMemoryBytes / 1e6:F0} MB; {gpu.GraphStatistics}");
        }
        Console.WriteLine(failures == 0 ? "all CUDA checks passed" : $"{failures} CUDA checks failed");
        return failures == 0 ? 0 : 1;
    }

    private static IEnumerable<(string Name, Func<IBackend, float[]> Op)> Cases()
    {
        yield return ("linear 77×768→768 +bias", b => Linear(b, 77, 768, 768, true, false));
        yield return ("linear 4096×320→320 +bias +residual", b => Linear(b, 4096, 320, 320, true, true));
        yield return ("linear 2×1280→1280", b => Linear(b, 2, 1280, 1280, false, false));
        yield return ("conv 3×3 64×64 320→320", b => Conv(b, 2, 64, 64, 320, 320, 3, new Conv2dOptions(1, 1)));
        yield return ("conv 3×3 stride 2", b => Conv(b, 1, 32, 32, 64, 64, 3, new Conv2dOptions(2, 1)));
        yield return ("conv 3×3 (0,1,0,1) stride 2", b => Conv(b, 1, 16, 16, 8, 8, 3, new Conv2dOptions(2, 0, 0, 1, 1, PaddingMode.Zeros)));
        yield return ("conv 3×3 circular", b => Conv(b, 1, 9, 7, 16, 8, 3, new Conv2dOptions(1, 1, PaddingMode.Circular)));
        yield return ("conv 1×1", b => Conv(b, 2, 16, 16, 64, 32, 1, new Conv2dOptions(1, 0)));
        yield return ("conv 3×3 +residual", b => Conv(b, 2, 32, 32, 64, 128, 3, new Conv2dOptions(1, 1), residual: true));
        yield return ("conv 3×3 512→512 128×128 (VAE)", b => Conv(b, 1, 128, 128, 512, 512, 3, new Conv2dOptions(1, 1)));
        yield return ("attention self 1024 tokens d40 h8", b => Attention(b, 2, 1024, 1024, 8, 40, false));
        yield return ("attention cross 4096×77 d64 h5", b => Attention(b, 2, 4096, 77, 5, 64, false));
        yield return ("attention causal 77 d64 h12", b => Attention(b, 2, 77, 77, 12, 64, true));
        yield return ("attention vae 1 head d512", b => Attention(b, 1, 256, 256, 1, 512, false));
        // The fused kernel's edges: ragged query and key tiles, every SD head size, causal over several tiles.
        yield return ("attention 1000×333 d80 h10", b => Attention(b, 2, 1000, 333, 10, 80, false));
        yield return ("attention 256×77 d160 h10", b => Attention(b, 1, 256, 77, 10, 160, false));
        yield return ("attention 4096 tokens d40 h8", b => Attention(b, 1, 4096, 4096, 8, 40, false));
        yield return ("attention causal 200 d64 h4", b => Attention(b, 1, 200, 200, 4, 64, true));
        yield return ("attention 100×100 d2 h3", b => Attention(b, 1, 100, 100, 3, 2, false));
        yield return ("group norm 128×128×128 (VAE)", b => Unary(b, [1, 128, 128, 128], x => b.GroupNorm(x, Vector(b, 128, 1), Vector(b, 128, 2), 32, 1e-6f)));
        yield return ("group norm 1280 ch, offset mean", b => Unary(b, [2, 8, 8, 1280], x => { using var shifted = b.Affine(x, 1f, 4f); return b.GroupNorm(shifted, Vector(b, 1280, 1), Vector(b, 1280, 2), 32, 1e-5f); }));
        yield return ("group norm + silu", b => Unary(b, [2, 32, 32, 320], x => b.GroupNorm(x, Vector(b, 320, 1), Vector(b, 320, 2), 32, 1e-5f, silu: true)));
        yield return ("layer norm", b => Unary(b, [2, 77, 768], x => b.LayerNorm(x, Vector(b, 768, 1), Vector(b, 768, 2), 1e-5f)));
        yield return ("layer norm 8192×640, offset mean", b => Unary(b, [2, 4096, 640], x => { using var shifted = b.Affine(x, 1f, 3f); return b.LayerNorm(shifted, Vector(b, 640, 1), Vector(b, 640, 2), 1e-5f); }));
        yield return ("layer norm 1000 ch, no bias", b => Unary(b, [3, 1000], x => b.LayerNorm(x, Vector(b, 1000, 1), null, 1e-5f)));
        yield return ("layer norm 2050 ch (element path)", b => Unary(b, [3, 2050], x => b.LayerNorm(x, Vector(b, 2050, 1), Vector(b, 2050, 2), 1e-5f)));
        foreach (var fn in Enum.GetValues<Activation>())
            yield return ($"activate {fn}", b => Unary(b, [1000], x => b.Activate(x, fn)));
        yield return ("geglu", b => Unary(b, [3, 64], x => b.Geglu(x)));
        yield return ("binary add per-channel", b => Binary(b, [2, 8, 8, 16], [16], BinaryOp.Add));
        yield return ("binary mul per-batch-channel", b => Binary(b, [2, 8, 8, 16], [2, 1, 1, 16], BinaryOp.Multiply));
        yield return ("binary sub per-item scalar", b => Binary(b, [2, 8, 8, 16], [2, 1, 1, 1], BinaryOp.Subtract));
        yield return ("binary same shape", b => Binary(b, [5, 7], [5, 7], BinaryOp.Add));
        yield return ("axpby", b => { using var x = Random(b, [999], 1); using var y = Random(b, [999], 2); using var r = b.Axpby(0.3f, x, -1.5f, y); return r.ToArray(); });
        yield return ("affine", b => Unary(b, [999], x => b.Affine(x, 2.5f, -1f)));
        yield return ("clamp", b => Unary(b, [999], x => b.Clamp(x, -0.5f, 0.25f)));
        yield return ("concat channels", b => { using var x = Random(b, [2, 4, 4, 3], 1); using var y = Random(b, [2, 4, 4, 5], 2); using var r = b.Concat([x, y], -1); return r.ToArray(); });
        yield return ("concat batch", b => { using var x = Random(b, [1, 4, 6], 1); using var y = Random(b, [2, 4, 6], 2); using var r = b.Concat([x, y], 0); return r.ToArray(); });
        yield return ("slice", b => Unary(b, [2, 6, 5], x => b.Slice(x, 1, 2, 3)));
        yield return ("upsample nearest 2×", b => Unary(b, [2, 5, 7, 3], x => b.UpsampleNearest2x(x)));
        yield return ("resize bilinear", b => Unary(b, [1, 5, 7, 3], x => b.Resize(x, 13, 9, ResizeMode.Bilinear)));
        yield return ("resize nearest", b => Unary(b, [1, 5, 7, 3], x => b.Resize(x, 13, 9, ResizeMode.Nearest)));
        yield return ("timestep embedding", b => { using var t = b.Scalars([0f, 1f, 500f, 999f]); using var r = b.TimestepEmbedding(t, 320, true, 0); return r.ToArray(); });
    }

    private static float[] Linear(IBackend b, int m, int n, int k, bool bias, bool residual)
    {
        using var x = Random(b, [m, k], 1);
        using var w = Random(b, [n, k], 2, 1f / MathF.Sqrt(k));
        using var bb = bias ? Vector(b, n, 3) : null;
        using var r = residual ? Random(b, [m, n], 4) : null;
        using var y = b.Linear(x, w, bb, r);
        return y.ToArray();
    }

    private static float[] Conv(IBackend b, int batch, int h, int w, int cin, int cout, int k, Conv2dOptions options, bool residual = false)
    {
        using var x = Random(b, [batch, h, w, cin], 1);
        using var weight = Random(b, [cout, k, k, cin], 2, 1f / MathF.Sqrt(k * k * cin));
        using var bias = Vector(b, cout, 3);
        using var skip = residual ? Random(b, [batch, (h + 2 * options.PadTop - k) / options.Stride + 1, (w + 2 * options.PadLeft - k) / options.Stride + 1, cout], 4) : null;
        using var y = b.Conv2d(x, weight, bias, options, skip);
        return y.ToArray();
    }

    private static float[] Attention(IBackend b, int batch, int lq, int lk, int heads, int d, bool causal)
    {
        using var q = Random(b, [batch, lq, heads * d], 1);
        using var k = Random(b, [batch, lk, heads * d], 2);
        using var v = Random(b, [batch, lk, heads * d], 3);
        using var y = b.Attention(q, k, v, heads, causal);
        return y.ToArray();
    }

    private static float[] Unary(IBackend b, int[] shape, Func<Tensor, Tensor> op)
    {
        using var x = Random(b, shape, 1, 2f);
        using var y = op(x);
        return y.ToArray();
    }

    private static float[] Binary(IBackend b, int[] a, int[] c, BinaryOp op)
    {
        using var x = Random(b, a, 1);
        using var y = Random(b, c, 2);
        using var r = b.Binary(x, op, y);
        return r.ToArray();
    }

    private static Tensor Vector(IBackend b, int n, int seed) => Random(b, [n], seed);

    private static Tensor Random(IBackend b, int[] shape, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var values = new float[new Shape(shape).ElementCount];
        for (int i = 0; i < values.Length; i++) values[i] = (rng.NextSingle() * 2 - 1) * scale;
        return b.FromHost(values, new Shape(shape));
    }

    /// <summary>max |a − b| / max(|a|, 1e-3): an error relative to the output's scale.</summary>
    private static double RelativeError(float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length) return double.PositiveInfinity;
        double scale = Math.Max(1e-3, expected.Max(v => Math.Abs(v))), worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        return worst / scale;
    }

    /// <summary>
    /// The fixture's UNet output against diffusers'; and, as CUDA graphs: the second call (captured) against the
    /// first (eager), the third (replayed on another latent) against an eager call on that latent.
    /// </summary>
    private static (double Error, double GraphError) UNetFixtureError(CudaBackend gpu, string root, string family)
    {
        string dir = Path.Combine(root, "tests", "fixtures", "models", family);
        using var checkpoint = Checkpoint.Open(Path.Combine(dir, "diffusers"));
        using var unet = new UNetModel(gpu, checkpoint.Unet, checkpoint.UnetConfig);
        using var reference = SafetensorsFile.Open(Path.Combine(dir, "reference.safetensors"));
        Tensor Nhwc(string name) => ReferenceTensors.Nhwc(gpu, reference, name);
        Tensor Plain(string name) => ReferenceTensors.Plain(gpu, reference, name);
        using var x = Nhwc("unet_sample");
        using var t = gpu.Scalars(reference.Find("unet_timestep")!.ToFloat32());
        using var ctx = Plain("unet_context");
        bool sdxl = checkpoint.UnetConfig.AdmInChannels != null;
        using var te = sdxl ? Plain("unet_text_embeds") : null;
        using var ids = sdxl ? Plain("unet_time_ids") : null;
        using var output = unet.Forward(x, t, ctx, te, ids);

        long replays = gpu.GraphStatistics.Replays;
        using var captured = unet.Forward(x, t, ctx, te, ids);
        using var x2 = gpu.Affine(x, -0.5f, 0.1f);
        using var replayed = unet.Forward(x2, t, ctx, te, ids);
        using var eager2 = gpu.WithoutGraphs(() => unet.Forward(x2, t, ctx, te, ids));
        double graphError = gpu.GraphStatistics.Replays == replays + 2
            ? Math.Max(ReferenceTensors.RelativeL2(output.ToArray(), captured.ToArray()), ReferenceTensors.RelativeL2(eager2.ToArray(), replayed.ToArray()))
            : double.PositiveInfinity;
        return (ReferenceTensors.RelativeL2(ReferenceTensors.NhwcValues(reference, "unet_out"), output.ToArray()), graphError);
    }

    /// <summary>The tiny SD 1.x VAE decoding in tiles against diffusers' enable_tiling (tests/fixtures/vae-tiling).</summary>
    private static double TiledVaeError(CudaBackend gpu, string root)
    {
        using var checkpoint = Checkpoint.Open(Path.Combine(root, "tests", "fixtures", "models", "sd1", "diffusers"));
        using var vae = new AutoencoderKL(gpu, checkpoint.Vae!, VaeConfig.FromDiffusers(((DiffusersFolder)checkpoint.File).Component("vae").Config)) { Tiling = true };
        using var reference = SafetensorsFile.Open(Path.Combine(root, "tests", "fixtures", "vae-tiling", "sd1.safetensors"));
        using var latent = ReferenceTensors.Nhwc(gpu, reference, "latent");
        using var decoded = vae.Decode(latent);
        return ReferenceTensors.RelativeL2(ReferenceTensors.NhwcValues(reference, "decoded"), decoded.ToArray());
    }
}
