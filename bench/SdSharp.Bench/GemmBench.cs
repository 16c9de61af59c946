using System.Diagnostics;
using SdSharp.Cpu;
using SdSharp.Tensors;

namespace SdSharp.Bench;

/// <summary>
/// fp32 GEMM and 3×3 convolution throughput against the machine's measured FMA peak and OpenBLAS, on the
/// shapes issue "Foundation" names. Peak, SdSharp and OpenBLAS are timed in interleaved rounds and the best
/// round of each is kept, so background load on a shared machine hurts all three alike.
/// </summary>
internal static unsafe class GemmBench
{
    public static void Run(int threads, int rounds)
    {
        var blas = OpenBlas.TryLoad();
        blas?.SetThreads(threads);
        using var cpu = new CpuBackend(threads);
        Console.WriteLine($"backend: {cpu.Name}");
        Console.WriteLine(blas == null ? "OpenBLAS: not found (bench/run-cpu.sh installs Debian's libopenblas0-pthread)" : $"OpenBLAS: {blas.Config}");

        var cases = new (string Name, int M, int N, int K)[]
        {
            ("GEMM 1024×1024×1024", 1024, 1024, 1024),
            ("GEMM 4096×320×320 (attention projection)", 4096, 320, 320),
        };
        double peak = 0;
        var ours = new double[cases.Length + 1];
        var theirs = new double[cases.Length];
        var conv = new ConvCase(cpu, 64, 64, 320, 320);
        var data = cases.Select(c => new GemmCase(c.M, c.N, c.K)).ToArray();
        for (int round = 0; round < rounds; round++)
        {
            peak = Math.Max(peak, Peak.MeasureGflops(threads, 0.3));
            for (int i = 0; i < cases.Length; i++)
            {
                ours[i] = Math.Max(ours[i], data[i].SdSharp(cpu));
                if (blas != null) theirs[i] = Math.Max(theirs[i], data[i].OpenBlas(blas));
            }
            ours[^1] = Math.Max(ours[^1], conv.Run());
        }

        Console.WriteLine($"FMA peak, {threads} threads: {peak:F0} GFLOP/s");
        Console.WriteLine($"{"shape",-44} {"SdSharp",10} {"% peak",7} {"OpenBLAS",10} {"% peak",7} {"ratio",6}");
        for (int i = 0; i < cases.Length; i++)
        {
            string blasCols = blas == null ? $"{"-",10} {"-",7} {"-",6}" : $"{theirs[i],10:F0} {100 * theirs[i] / peak,6:F0}% {ours[i] / theirs[i],6:F2}";
            Console.WriteLine($"{cases[i].Name,-44} {ours[i],10:F0} {100 * ours[i] / peak,6:F0}% {blasCols}");
        }
        Console.WriteLine($"{"conv 3×3 320→320, 64×64 NHWC",-44} {ours[^1],10:F0} {100 * ours[^1] / peak,6:F0}%");
        Console.WriteLine("(GFLOP/s, best of each over interleaved rounds; ratio = SdSharp / OpenBLAS)");
    }

    private sealed class GemmCase(int m, int n, int k)
    {
        private readonly float[] _a = Random(m * k, 1), _w = Random(n * k, 2), _c = new float[m * n];

        public double SdSharp(CpuBackend cpu)
        {
            fixed (float* a = _a, w = _w, c = _c)
            {
                float* pa = a, pw = w, pc = c;
                return Time(() => Gemm.Multiply(cpu.Parallel, cpu.Pool, m, n, k, new DenseA(pa, k),
                    new GemmB((byte*)pw, DType.F32, k, rowsAreN: true), pc, n), 2.0 * m * n * k);
            }
        }

        public double OpenBlas(OpenBlas blas)
        {
            fixed (float* a = _a, w = _w, c = _c)
            {
                float* pa = a, pw = w, pc = c;
                return Time(() => blas.LinearProduct(pa, pw, pc, m, n, k), 2.0 * m * n * k);
            }
        }
    }

    private sealed class ConvCase(CpuBackend cpu, int h, int w, int cin, int cout)
    {
        private readonly Tensor _x = cpu.FromHost(Random(h * w * cin, 3), new Shape(1, h, w, cin));
        private readonly Tensor _weight = cpu.FromHost(Random(cout * 9 * cin, 4), new Shape(cout, 3, 3, cin));

        public double Run() => Time(() => cpu.Conv2d(_x, _weight, null, new Conv2dOptions(1, 1)).Dispose(), 2.0 * h * w * cout * 9 * cin);
    }

    /// <summary>GFLOP/s of the best of several calls (after one warm-up call).</summary>
    private static double Time(Action action, double flops)
    {
        action();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return flops / best / 1e9;
    }

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rng.NextSingle() - 0.5f;
        return x;
    }
}
