namespace SdSharp.Sampling.Random;

/// <summary>
/// <c>torch.Generator('cpu').manual_seed(seed)</c> with <c>torch.randn</c> / <c>torch.rand</c> on it, bit
/// for bit as PyTorch computes float32 on Linux x86 (AVX2 and AVX-512 machines run the same kernel).
/// Consecutive calls continue the stream exactly as consecutive torch calls on one generator do.
/// </summary>
/// <remarks>
/// Seeds are torch's uint64: a negative Python seed is its two's complement (<c>unchecked((ulong)seed)</c>),
/// and only the low 32 bits reach the Mersenne Twister, so seeds 5 and 2^32 + 5 give the same numbers.
/// From 16 elements on, the bits follow the x86 AVX2 kernel as GCC compiles it (Linux wheels); torch on ARM
/// runs a different (scalar float) kernel, and builds by other compilers may fuse other multiply–adds, so
/// their last bit can differ. Below 16 elements every platform agrees.
/// </remarks>
public sealed class TorchCpuGenerator : INoiseSource
{
    /// <summary>Below this many elements torch draws element by element in float64 (the scalar path).</summary>
    public const int VectorizedMinimum = 16;

    private readonly Mt19937 _engine;
    // Box–Muller makes two values; the scalar path hands out the second on the next draw, across calls.
    private double? _cachedNormal;

    public TorchCpuGenerator(ulong seed) => _engine = new Mt19937(seed);

    public ulong Seed => _engine.InitialSeed;

    /// <summary><c>manual_seed</c>: restarts the stream and forgets the cached Box–Muller value.</summary>
    public void ManualSeed(ulong seed)
    {
        _engine.Seed(seed);
        _cachedNormal = null;
    }

    /// <summary>One <c>torch.randn(n)</c> call (float32, contiguous) with n = destination.Length.</summary>
    public void Randn(Span<float> destination)
    {
        if (destination.Length >= VectorizedMinimum) FillNormalVectorized(destination);
        else
            for (int i = 0; i < destination.Length; i++) destination[i] = (float)NextNormalDouble();
    }

    /// <summary>One <c>torch.rand(n)</c> call: uniforms in [0, 1) with 24 random bits each.</summary>
    public void Rand(Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = NextUniformFloat();
    }

    /// <summary>The engine's next 32-bit output (what <c>random()</c> returns in ATen).</summary>
    public uint NextUInt32() => _engine.NextUInt32();

    /// <summary>ATen's <c>random64()</c>: two draws, the first as the high word.</summary>
    public ulong NextUInt64() => _engine.NextUInt64();

    private float NextUniformFloat() => (_engine.NextUInt32() & 0xFFFFFF) * (1f / (1 << 24));

    private double NextUniformDouble() => (_engine.NextUInt64() & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));

    /// <summary><c>at::normal_distribution&lt;double&gt;</c>: the path for fewer than 16 elements.</summary>
    private double NextNormalDouble()
    {
        if (_cachedNormal is double cached)
        {
            _cachedNormal = null;
            return cached * 1.0 + 0.0; // torch applies std and mean even to the cached value: −0 becomes +0
        }
        double u1 = NextUniformDouble();
        double u2 = NextUniformDouble();
        // Torch uses log1p(−u2); 1 − u2 is exact for these 53-bit uniforms, so log gives the same number.
        double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - u2));
        double theta = 2.0 * Math.PI * u1;
        _cachedNormal = radius * Math.Sin(theta);
        return radius * Math.Cos(theta) * 1.0 + 0.0;
    }

    /// <summary>
    /// The AVX2 kernel: all uniforms first, Box–Muller over each block of 16 (the first 8 give the radius,
    /// the last 8 the angle), and when n is not a multiple of 16 the last 16 slots are refilled with fresh
    /// uniforms and transformed again.
    /// </summary>
    private void FillNormalVectorized(Span<float> data)
    {
        for (int i = 0; i < data.Length; i++) data[i] = NextUniformFloat();
        for (int i = 0; i + 16 <= data.Length; i += 16) NormalFill16(data.Slice(i, 16));
        if (data.Length % 16 != 0)
        {
            Span<float> tail = data[^16..];
            for (int i = 0; i < 16; i++) tail[i] = NextUniformFloat();
            NormalFill16(tail);
        }
    }

    private static readonly float TwoPi = (float)(2.0 * Math.PI);

    private static void NormalFill16(Span<float> block)
    {
        for (int j = 0; j < 8; j++)
        {
            float u1 = 1f - block[j]; // [0, 1) → (0, 1] for the log
            float u2 = block[j + 8];
            float radius = MathF.Sqrt(AvxMathFun.Log(u1) * -2f);
            (float sin, float cos) = AvxMathFun.SinCos(TwoPi * u2);
            // The kernel ends with fma(n, std, mean); with std 1 and mean 0 that only turns −0 into +0.
            block[j] = MathF.FusedMultiplyAdd(radius * cos, 1f, 0f);
            block[j + 8] = MathF.FusedMultiplyAdd(radius * sin, 1f, 0f);
        }
    }
}
