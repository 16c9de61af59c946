namespace SdSharp.Sampling.Random;

/// <summary>
/// The Mersenne Twister as PyTorch's CPU generator runs it (<c>at::mt19937</c>): standard MT19937 seeded
/// with the low 32 bits of a 64-bit seed, so its output equals <c>std::mt19937(seed &amp; 0xffffffff)</c>.
/// </summary>
public sealed class Mt19937
{
    private const int N = 624;
    private const int M = 397;
    private const uint MatrixA = 0x9908b0df;
    private const uint UpperMask = 0x80000000;
    private const uint LowerMask = 0x7fffffff;

    private readonly uint[] _state = new uint[N];
    private int _next;

    public Mt19937(ulong seed = 5489) => Seed(seed);

    /// <summary>The seed as given; torch keeps all 64 bits here although only the low 32 reach the state.</summary>
    public ulong InitialSeed { get; private set; }

    public void Seed(ulong seed)
    {
        InitialSeed = seed;
        _state[0] = (uint)seed;
        for (int j = 1; j < N; j++)
            _state[j] = unchecked(1812433253u * (_state[j - 1] ^ (_state[j - 1] >> 30)) + (uint)j);
        // Torch regenerates lazily on the first draw; N here means "state used up".
        _next = N;
    }

    public uint NextUInt32()
    {
        if (_next == N) Regenerate();
        uint y = _state[_next++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    /// <summary>Torch's <c>random64()</c>: the first draw is the high word.</summary>
    public ulong NextUInt64()
    {
        ulong hi = NextUInt32();
        return (hi << 32) | NextUInt32();
    }

    private void Regenerate()
    {
        uint[] s = _state;
        for (int k = 0; k < N; k++)
        {
            uint mixed = (s[k] & UpperMask) | (s[(k + 1) % N] & LowerMask);
            uint twisted = (mixed >> 1) ^ ((mixed & 1) != 0 ? MatrixA : 0);
            s[k] = s[(k + M) % N] ^ twisted;
        }
        _next = 0;
    }
}
