using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using SdSharp.Cpu;
using SdSharp.IO;
using SdSharp.Models.Vae;
using SdSharp.Models.Weights;
using SdSharp.Tensors;

namespace SdSharp.Bench;

/// <summary>
/// A full-size SD VAE decode, 64×64 latent → 512×512 image, on the CPU backend with random fp16 weights of the real
/// shapes (taken from the SD 1.5 key/shape listing in tests/fixtures/models/shapes). The figure to compare with
/// stable-diffusion.cpp's 36 s on the 2-core machine.
/// </summary>
public static class VaeBench
{
    public static void Run() => Run(latentSize: 64, rounds: 3);

    public static void Run(int latentSize, int rounds)
    {
        using var backend = new CpuBackend();
        using var file = RandomWeightsFile.FromListing(FindShapeListing("sd1"), "first_stage_model.", seed: 1);
        using var map = WeightMap.Build(file, new PrefixLayout("vae (original layout)", "first_stage_model."));
        var config = VaeConfig.FromWeights(map);
        using var vae = new AutoencoderKL(backend, map, config);

        var random = new Random(2);
        var values = new float[latentSize * latentSize * config.LatentChannels];
        for (int i = 0; i < values.Length; i++) values[i] = random.NextSingle() * 2 - 1;
        using var latent = backend.FromHost(values, new Shape(1, latentSize, latentSize, config.LatentChannels));

        double tflop = DecodeFlops(config, latentSize) / 1e12;
        int size = latentSize * config.DownscaleFactor;
        Console.WriteLine($"VAE decode {latentSize}x{latentSize} latent -> {size}x{size} image, {tflop:F2} TFLOP, {backend.Name}, " +
            $"FMA peak {Peak.MeasureGflops(backend.Threads):F0} GFLOP/s");
        var process = Process.GetCurrentProcess();
        var times = new List<double>();
        for (int round = 0; round <= rounds; round++)
        {
            process.Refresh();
            TimeSpan cpuStart = process.TotalProcessorTime;
            long start = Stopwatch.GetTimestamp();
            using (var image = vae.Decode(latent)) backend.Synchronize();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            process.Refresh();
            double cpu = (process.TotalProcessorTime - cpuStart).TotalSeconds;
            // The first round also compiles the kernels (tiered JIT): reported, not counted.
            if (round > 0) times.Add(seconds);
            // CPU time / wall time below the thread count means the cores were shared with other work.
            Console.WriteLine($"  {(round == 0 ? "first" : $"run {round}"),-6} {seconds,7:F2} s  {tflop / seconds * 1000,5:F0} GFLOP/s  " +
                $"cores busy {cpu / seconds:F2} of {backend.Threads}");
        }
        times.Sort();
        Console.WriteLine($"  best {times[0]:F2} s, median {times[times.Count / 2]:F2} s");
    }

    /// <summary>Multiply-adds ×2 of the decoder's convolutions and attention (norms and elementwise ops are noise).</summary>
    private static double DecodeFlops(VaeConfig c, int latentSize)
    {
        static double Conv(int cin, int cout, int k, double pixels) => 2.0 * cin * cout * k * k * pixels;
        double ResBlock(int cin, int cout, double pixels) =>
            Conv(cin, cout, 3, pixels) + Conv(cout, cout, 3, pixels) + (cin != cout ? Conv(cin, cout, 1, pixels) : 0);

        int ch = c.LevelChannels[^1];
        double px = (double)latentSize * latentSize;
        double flops = Conv(c.LatentChannels, c.LatentChannels, 1, px) + Conv(c.LatentChannels, ch, 3, px);
        flops += 2 * ResBlock(ch, ch, px) + 4 * Conv(ch, ch, 1, px) + 2 * 2.0 * px * px * ch;   // mid: q,k,v,out; QKᵀ and PV
        for (int i = c.Levels - 1; i >= 0; i--)
        {
            for (int j = 0; j <= c.ResBlocksPerLevel; j++)
            {
                flops += ResBlock(ch, c.LevelChannels[i], px);
                ch = c.LevelChannels[i];
            }
            if (i == 0) break;
            px *= 4;
            flops += Conv(ch, ch, 3, px);
        }
        return flops + Conv(ch, c.OutChannels, 3, px);
    }

    private static string FindShapeListing(string family)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "fixtures", "models", "shapes", family + ".json");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"tests/fixtures/models/shapes/{family}.json not found above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// fp16 tensors of the listed shapes, in native memory: norm scales 1, biases 0, other weights uniform with
    /// standard deviation 1/√fan_in (so activations stay in range and no subnormals slow anything down).
    /// </summary>
    private sealed unsafe class RandomWeightsFile : TensorFile
    {
        private readonly List<TensorEntry> _entries = new();
        private readonly List<nint> _blocks = new();

        private RandomWeightsFile() : base("(random weights)") { }

        public override string Format => "memory";
        public override IReadOnlyList<TensorEntry> Tensors => _entries;

        public static RandomWeightsFile FromListing(string path, string prefix, int seed)
        {
            var file = new RandomWeightsFile();
            var random = new Random(seed);
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (!property.Name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                long[] shape = property.Value.EnumerateArray().Select(v => v.GetInt64()).ToArray();
                long count = shape.Aggregate(1L, (a, b) => a * b);
                Half* data = (Half*)NativeMemory.Alloc((nuint)(count * sizeof(Half)));
                file._blocks.Add((nint)data);
                if (shape.Length == 1)
                {
                    Half value = property.Name.Contains("norm", StringComparison.Ordinal) && property.Name.EndsWith(".weight", StringComparison.Ordinal) ? Half.One : Half.Zero;
                    new Span<Half>(data, (int)count).Fill(value);
                }
                else
                {
                    float bound = MathF.Sqrt(3f / (count / shape[0]));
                    for (long i = 0; i < count; i++) data[i] = (Half)((random.NextSingle() * 2 - 1) * bound);
                }
                file._entries.Add(new TensorEntry(file, property.Name, ElementType.F16, shape, (byte*)data));
            }
            return file;
        }

        protected override void ReleaseMemory()
        {
            foreach (nint block in _blocks) NativeMemory.Free((void*)block);
            _blocks.Clear();
        }
    }
}
