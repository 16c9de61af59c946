using System.Diagnostics;
using SdSharp.Cpu;
using SdSharp.Tensors;

namespace SdSharp.Bench;

/// <summary>CPU attention at the shapes of SD 1.5's UNet at 512×512 (batch 2 for guidance).</summary>
internal static class AttentionBench
{
    public static void Run(int threads)
    {
        using var cpu = new CpuBackend(threads);
        foreach (var (name, lq, lk, heads, d) in new[] { ("self 64×64, d40 h8", 4096, 4096, 8, 40), ("cross 64×64→77, d40 h8", 4096, 77, 8, 40),
                     ("self 32×32, d80 h8", 1024, 1024, 8, 80), ("self 16×16, d160 h8", 256, 256, 8, 160) })
        {
            var rng = new Random(1);
            float[] Random(int n) { var x = new float[n]; for (int i = 0; i < n; i++) x[i] = rng.NextSingle() - 0.5f; return x; }
            using var q = cpu.FromHost(Random(2 * lq * heads * d), new Shape(2, lq, heads * d));
            using var k = cpu.FromHost(Random(2 * lk * heads * d), new Shape(2, lk, heads * d));
            using var v = cpu.FromHost(Random(2 * lk * heads * d), new Shape(2, lk, heads * d));
            cpu.Attention(q, k, v, heads).Dispose();
            double best = double.MaxValue;
            for (int i = 0; i < 3; i++)
            {
                var sw = Stopwatch.StartNew();
                cpu.Attention(q, k, v, heads).Dispose();
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            double flops = 4.0 * 2 * heads * lq * (double)lk * d;
            Console.WriteLine(FormattableString.Invariant($"{name,-26} {best * 1000,8:F1} ms {flops / best / 1e9,6:F0} GFLOP/s"));
        }
    }
}
