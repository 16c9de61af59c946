namespace SdSharp.Sampling.Random;

/// <summary>
/// AUTOMATIC1111's "NV" noise (<c>modules/rng_philox.py</c>): Philox-4x32-10 with counter
/// [offset, 0, index, 0] and key [seed low, seed high], then one Box–Muller value per element from the
/// first two output words, computed in float64 and rounded to float32. It imitates CUDA's
/// <c>torch.randn</c> closely but not bit for bit; it matches A1111's formula, which is the point.
/// </summary>
public sealed class PhiloxGenerator : INoiseSource
{
    private const uint MulA = 0xD2511F53;
    private const uint MulB = 0xCD9E8D57;
    private const uint WeylA = 0x9E3779B9;
    private const uint WeylB = 0xBB67AE85;
    private const int Rounds = 10;

    // A1111 rounds both factors to float32 first, then works in float64 (numpy promotes uint32 × float32).
    private static readonly double UnitScale = (float)2.3283064e-10;
    private static readonly double AngleScale = (float)(2.3283064e-10 * 6.2831855);
    private static readonly double UnitHalf = (float)UnitScale / 2f;
    private static readonly double AngleHalf = (float)AngleScale / 2f;

    public PhiloxGenerator(ulong seed) => Seed = seed;

    public ulong Seed { get; }

    /// <summary>Number of <see cref="Randn"/> calls so far: the first counter word of the next call.</summary>
    public ulong Offset { get; private set; }

    public void Randn(Span<float> destination)
    {
        // numpy stores the offset into a uint32 array: only its low word reaches the counter.
        uint offset = (uint)Offset;
        Offset++;
        for (int i = 0; i < destination.Length; i++)
        {
            (uint x, uint y) = Philox(offset, (uint)i, (uint)Seed, (uint)(Seed >> 32));
            destination[i] = BoxMuller(x, y);
        }
    }

    /// <summary>Philox-4x32 with A1111's counter layout; only the first two words are used.</summary>
    internal static (uint, uint) Philox(uint offset, uint index, uint key0, uint key1)
    {
        uint c0 = offset, c1 = 0, c2 = index, c3 = 0;
        for (int round = 0; round < Rounds; round++)
        {
            if (round > 0)
            {
                key0 = unchecked(key0 + WeylA);
                key1 = unchecked(key1 + WeylB);
            }
            ulong p = (ulong)c0 * MulA;
            ulong q = (ulong)c2 * MulB;
            c0 = (uint)(q >> 32) ^ c1 ^ key0;
            c1 = (uint)q;
            c2 = (uint)(p >> 32) ^ c3 ^ key1;
            c3 = (uint)p;
        }
        return (c0, c1);
    }

    /// <summary>The first Box–Muller value, exactly in A1111's order of float64 operations.</summary>
    internal static float BoxMuller(uint x, uint y)
    {
        double u = x * UnitScale + UnitHalf;
        double v = y * AngleScale + AngleHalf;
        double radius = Math.Sqrt(-2.0 * Math.Log(u));
        return (float)(radius * Math.Sin(v));
    }
}
