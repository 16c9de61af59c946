using SdSharp.Sampling.Random;
using SdSharp.Tensors;

namespace SdSharp.Sampling;

/// <summary>
/// The randomness a sampler may use, built by the pipeline from the request's seeds: A1111's
/// <c>p.rng.next()</c> (each image's own stream, which replaces every <c>torch.randn_like</c> in the samplers)
/// and, for the SDE samplers, one Brownian tree per image seeded with the image's seed.
/// </summary>
public sealed class SamplerNoise
{
    private readonly Func<float[][]> _next;
    private readonly Func<float[][], Tensor> _toLatent;

    /// <param name="kind">The generator behind the Brownian trees' <c>randn_local</c>.</param>
    /// <param name="seeds">One seed per image of the batch (A1111's <c>all_seeds</c> slice for this batch).</param>
    /// <param name="shape">One image's latent noise shape.</param>
    /// <param name="next">The next draw of every image's stream, one CHW array each (<see cref="ImageNoise.Next"/>).</param>
    /// <param name="toLatent">Stacks per-image CHW arrays into a latent tensor in the pipeline's layout.</param>
    public SamplerNoise(NoiseSourceKind kind, IReadOnlyList<long> seeds, NoiseShape shape, Func<float[][]> next,
        Func<float[][], Tensor> toLatent)
    {
        Kind = kind;
        Seeds = [.. seeds];
        Shape = shape;
        _next = next;
        _toLatent = toLatent;
    }

    public NoiseSourceKind Kind { get; }
    public IReadOnlyList<long> Seeds { get; }
    public NoiseShape Shape { get; }

    /// <summary>One <c>randn_like(x)</c>: the next draw of every image's stream, as a latent.</summary>
    public Tensor Next() => _toLatent(_next());

    /// <summary>A draw whose value A1111 never uses: advances the streams without building a tensor.</summary>
    public void Skip() => _next();

    /// <summary>k-diffusion's <c>BrownianTreeNoiseSampler(x, σmin, σmax, seed=seeds)</c>.</summary>
    public BrownianNoise Brownian(double sigmaMin, double sigmaMax) => new(this, sigmaMin, sigmaMax);

    internal Tensor ToLatent(float[][] images) => _toLatent(images);
}

/// <summary>
/// Unit-variance noise for the step σ → σ', from the Brownian increment between them:
/// (W(σ') − W(σ)) / √|σ' − σ|, one tree per image. σ are float32 (k-diffusion's tensors), so the interval
/// ends and the divisor are rounded as torch rounds them.
/// </summary>
public sealed class BrownianNoise
{
    private readonly SamplerNoise _noise;
    private readonly BrownianTree[] _trees;

    internal BrownianNoise(SamplerNoise noise, double sigmaMin, double sigmaMax)
    {
        _noise = noise;
        _trees = [.. noise.Seeds.Select(seed =>
            new BrownianTree(noise.Kind, seed, noise.Shape.Count, (float)sigmaMin, (float)sigmaMax))];
    }

    public Tensor Sample(double sigma, double sigmaNext)
    {
        float a = (float)sigma, b = (float)sigmaNext;
        // The tree is queried in increasing time; going down in σ flips the increment's sign.
        (float lo, float hi, float sign) = a < b ? (a, b, 1f) : (b, a, -1f);
        float scale = MathF.Sqrt(MathF.Abs(b - a));
        var images = new float[_trees.Length][];
        for (int n = 0; n < _trees.Length; n++)
        {
            float[] w = _trees[n].Increment(lo, hi);
            for (int i = 0; i < w.Length; i++) w[i] = w[i] * sign / scale;
            images[n] = w;
        }
        return _noise.ToLatent(images);
    }
}
