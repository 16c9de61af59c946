using System.Diagnostics;
using SdSharp.Cpu;
using SdSharp.Tensors;

unsafe
{
    int threads = Environment.ProcessorCount;
    Console.WriteLine($"peak {SdSharp.Bench.Peak.MeasureGflops(threads):F0} GFLOP/s");
    var par = new CpuParallel(threads);
    using var pool = new CpuMemoryPool(1L << 30);
    foreach (var (m, n, k) in new[] { (1024, 1024, 1024), (4096, 320, 320) })
    {
        var a = new float[m * k]; var b = new float[n * k]; var c = new float[m * n];
        var rng = new Random(1); for (int i = 0; i < a.Length; i++) a[i] = rng.NextSingle(); for (int i = 0; i < b.Length; i++) b[i] = rng.NextSingle();
        fixed (float* pa = a, pb = b, pc = c)
        {
            double best = 1e9;
            for (int rep = 0; rep < 20; rep++)
            {
                var sw = Stopwatch.StartNew();
                Gemm.Multiply(par, pool, m, n, k, new DenseA(pa, k), new GemmB((byte*)pb, DType.F32, k, true), pc, n);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            Console.WriteLine($"{m}x{n}x{k}: {2.0 * m * n * k / best / 1e9:F0} GFLOP/s");
        }
    }
}
