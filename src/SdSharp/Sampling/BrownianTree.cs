using System.Numerics;
using SdSharp.Sampling.Random;

namespace SdSharp.Sampling;

/// <summary>
/// torchsde 0.2.6's <c>BrownianTree</c> (a <c>BrownianInterval</c> with <c>halfway_tree=True</c>, tol 1e-6,
/// pool size 24, no Lévy area) for one image, as A1111 runs it: every node's noise is
/// <c>randn_local(seed, shape)</c> with the node's seed from numpy's <c>SeedSequence</c>. Query points are rounded
/// to 6 decimals and the tree splits each interval at its (rounded) midpoint until it reaches them, so the path
/// depends only on the seed. Arithmetic is float32 in torch's order, so increments match bit for bit.
/// </summary>
public sealed class BrownianTree
{
    private const int PoolSize = 24, CacheSize = 45;

    private readonly NoiseSourceKind _kind;
    private readonly BigInteger _entropy;
    private readonly int _count;
    private readonly Node _root;
    // torchsde keeps the 45 most recently computed increments; older ones are recomputed from their parents.
    private readonly Queue<Node> _cached = new();

    /// <param name="kind">The generator behind <c>randn_local</c>.</param>
    /// <param name="seed">The image's seed (torchsde's <c>entropy</c>).</param>
    /// <param name="count">Elements per increment (one image's latent).</param>
    /// <param name="t0">Start of the interval (σmin for k-diffusion).</param>
    /// <param name="t1">End of the interval (σmax).</param>
    public BrownianTree(NoiseSourceKind kind, long seed, int count, double t0, double t1)
    {
        if (!(t0 < t1)) throw new ArgumentException($"Brownian interval [{t0}, {t1}] is empty.");
        _kind = kind;
        _entropy = seed;
        _count = count;
        uint[] seeds = new SeedSequence(_entropy, poolSize: PoolSize).GenerateState(3);
        _root = new Node(Round(t0), Round(t1), null, isLeft: false)
        {
            // The top increment uses the unrounded ends, as torchsde does before building the root interval.
            W = Scale(Randn(seeds[0]), (float)Math.Sqrt(t1 - t0)),
            SpawnKey = 0,
            Depth = 0,
        };
    }

    /// <summary>W(tb) − W(ta) for ta ≤ tb, clamped to the tree's interval (torchsde warns and clamps too).</summary>
    public float[] Increment(double ta, double tb)
    {
        ta = Math.Clamp(ta, _root.Start, _root.End);
        tb = Math.Clamp(tb, _root.Start, _root.End);
        if (ta > tb) throw new ArgumentException($"Query times must satisfy ta <= tb, got {ta} and {tb}.");
        if (ta == tb || Round(ta) == Round(tb)) return new float[_count];

        var intervals = new List<Node>();
        Locate(_root, Round(ta), Round(tb), intervals);
        float[] w = (float[])WOf(intervals[0]).Clone();
        for (int k = 1; k < intervals.Count; k++)
        {
            float[] wi = WOf(intervals[k]);
            for (int i = 0; i < w.Length; i++) w[i] += wi[i];
        }
        return w;
    }

    /// <summary>torchsde's <c>_loc_inner</c>, descending from the root: the existing or new nodes covering [ta, tb].</summary>
    private void Locate(Node node, double ta, double tb, List<Node> found)
    {
        while (true)
        {
            if (ta == node.Start && tb == node.End) { found.Add(node); return; }
            if (node.Midway is not double mid)
            {
                Split(node, ta == node.Start ? tb : ta);
                continue;
            }
            if (tb <= mid) node = node.Left!;
            else if (ta >= mid) node = node.Right!;
            else
            {
                Locate(node.Left!, ta, mid, found);
                ta = mid;
                node = node.Right!;
            }
        }
    }

    /// <summary>Halfway splits, recursing into the side that still contains the point.</summary>
    private void Split(Node node, double point)
    {
        while (true)
        {
            double mid = Round(0.5 * (node.End + node.Start));
            node.Midway = mid;
            node.SpawnKey = node.Parent is null ? 0 : 2 * node.Parent.SpawnKey + (node.IsLeft ? 0u : 1u);
            node.Depth = node.Parent is null ? 0 : node.Parent.Depth + 1;
            uint[] s = new SeedSequence(_entropy, [node.SpawnKey, node.Depth], PoolSize).GenerateState(4);
            node.WSeed = s[0];
            node.Left = new Node(node.Start, mid, node, isLeft: true);
            node.Right = new Node(mid, node.End, node, isLeft: false);
            if (point > mid) node = node.Right;
            else if (point < mid) node = node.Left;
            else return;
        }
    }

    /// <summary>
    /// A child's increment from its parent's by the Brownian bridge: the left part is
    /// W·(l/h) + √(l·r/h)·N(0, 1) with the parent's noise, the right part is the rest.
    /// </summary>
    private float[] WOf(Node node)
    {
        if (node.W is { } cached) return cached;
        Node parent = node.Parent!;
        float[] wParent = WOf(parent);
        double mid = parent.Midway!.Value;
        double hReciprocal = 1 / (parent.End - parent.Start);
        double leftDiff = mid - parent.Start, rightDiff = parent.End - mid;
        float a = (float)leftDiff, b = (float)hReciprocal, c = (float)Math.Sqrt(leftDiff * rightDiff * hReciprocal);
        float[] noise = Randn(parent.WSeed);
        var w = new float[_count];
        for (int i = 0; i < w.Length; i++)
        {
            // torch: (left_diff * W) * h_reciprocal + sqrt(var) * noise, each op rounded to float32
            float mean = wParent[i] * a * b;
            float left = mean + c * noise[i];
            w[i] = node.IsLeft ? left : wParent[i] - left;
        }
        node.W = w;
        _cached.Enqueue(node);
        if (_cached.Count > CacheSize) _cached.Dequeue().W = null;
        return w;
    }

    private float[] Randn(uint seed) => NoiseSources.RandnLocal(_kind, seed, _count);

    private static float[] Scale(float[] values, float factor)
    {
        for (int i = 0; i < values.Length; i++) values[i] *= factor;
        return values;
    }

    /// <summary>Python's <c>round(x, 6)</c>: the nearest multiple of 10⁻⁶ to x's exact value (ties to even), as a double.</summary>
    internal static double Round(double x)
    {
        if (!double.IsFinite(x)) return x;
        if (x < 0) return -Round(-x);
        long bits = BitConverter.DoubleToInt64Bits(x);
        int exponent = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & ((1L << 52) - 1);
        if (exponent == 0) exponent = 1; else mantissa |= 1L << 52;
        exponent -= 1075; // x = mantissa · 2^exponent
        BigInteger scaled = new BigInteger(mantissa) * 1_000_000;
        BigInteger k;
        if (exponent >= 0) k = scaled << exponent;
        else
        {
            BigInteger denominator = BigInteger.One << -exponent;
            k = BigInteger.DivRem(scaled, denominator, out BigInteger remainder);
            int cmp = (remainder * 2).CompareTo(denominator);
            if (cmp > 0 || (cmp == 0 && !k.IsEven)) k += 1;
        }
        return (double)k / 1e6; // k and 1e6 are exact, so IEEE division gives the nearest double, as strtod would
    }

    private sealed class Node(double start, double end, Node? parent, bool isLeft)
    {
        public double Start { get; } = start;
        public double End { get; } = end;
        public Node? Parent { get; } = parent;
        public bool IsLeft { get; } = isLeft;
        public double? Midway { get; set; }
        public ulong SpawnKey { get; set; }
        public int Depth { get; set; }
        public uint WSeed { get; set; }
        public Node? Left { get; set; }
        public Node? Right { get; set; }
        public float[]? W { get; set; }
    }
}
