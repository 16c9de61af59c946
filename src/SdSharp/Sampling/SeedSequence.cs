using System.Numerics;

namespace SdSharp.Sampling;

/// <summary>
/// numpy's <c>np.random.SeedSequence</c> (O'Neill's seed_seq hash, numpy ≥ 1.19): how torchsde derives the
/// seeds of every Brownian-tree node from the user's seed and the node's position. Words are uint32.
/// </summary>
public sealed class SeedSequence
{
    private const uint InitA = 0x43b0d7e5, MultA = 0x931e8875, InitB = 0x8b51f9dd, MultB = 0x58f38ded;
    private const uint MixMultL = 0xca01f9dd, MixMultR = 0x4973f715;
    private const int XShift = 16;

    private readonly uint[] _pool;

    /// <param name="entropy">A non-negative integer seed.</param>
    /// <param name="spawnKey">Integers naming a child sequence; empty for the root.</param>
    /// <param name="poolSize">Words of pooled entropy (numpy's default is 4, torchsde's trees use 24).</param>
    public SeedSequence(BigInteger entropy, IReadOnlyList<BigInteger>? spawnKey = null, int poolSize = 4)
    {
        if (poolSize < 4) throw new ArgumentOutOfRangeException(nameof(poolSize), "numpy requires a pool of at least 4 words.");
        var run = ToWords(entropy);
        var spawn = (spawnKey ?? []).SelectMany(ToWords).ToList();
        // Since numpy 1.19 a spawned sequence pads its run entropy to the pool size, so keys cannot collide.
        if (spawn.Count > 0 && run.Count < poolSize) run.AddRange(Enumerable.Repeat(0u, poolSize - run.Count));
        _pool = new uint[poolSize];
        MixEntropy([.. run, .. spawn]);
    }

    /// <summary><c>generate_state(n)</c> as uint32 words.</summary>
    public uint[] GenerateState(int words)
    {
        var state = new uint[words];
        uint hashConst = InitB;
        for (int i = 0; i < words; i++)
        {
            uint value = _pool[i % _pool.Length];
            value ^= hashConst;
            hashConst *= MultB;
            value *= hashConst;
            value ^= value >> XShift;
            state[i] = value;
        }
        return state;
    }

    private void MixEntropy(uint[] entropy)
    {
        uint hashConst = InitA;
        uint Hash(uint value)
        {
            value ^= hashConst;
            hashConst *= MultA;
            value *= hashConst;
            return value ^ (value >> XShift);
        }

        for (int i = 0; i < _pool.Length; i++) _pool[i] = Hash(i < entropy.Length ? entropy[i] : 0);
        for (int src = 0; src < _pool.Length; src++)
            for (int dst = 0; dst < _pool.Length; dst++)
                if (src != dst) _pool[dst] = Mix(_pool[dst], Hash(_pool[src]));
        for (int src = _pool.Length; src < entropy.Length; src++)
            for (int dst = 0; dst < _pool.Length; dst++)
                _pool[dst] = Mix(_pool[dst], Hash(entropy[src]));
    }

    private static uint Mix(uint x, uint y)
    {
        uint result = MixMultL * x - MixMultR * y;
        return result ^ (result >> XShift);
    }

    /// <summary>numpy's <c>_int_to_uint32_array</c>: little-endian 32-bit words, [0] for zero.</summary>
    private static List<uint> ToWords(BigInteger n)
    {
        if (n.Sign < 0) throw new ArgumentOutOfRangeException(nameof(n), "SeedSequence entropy must be non-negative.");
        var words = new List<uint>();
        if (n.IsZero) words.Add(0);
        while (n > 0)
        {
            words.Add((uint)(n & uint.MaxValue));
            n >>= 32;
        }
        return words;
    }
}
