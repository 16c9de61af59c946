namespace SdSharp.Sampling.Random;

/// <summary>
/// A1111's per-image noise (<c>rng.ImageRNG</c>): one generator per image of a batch. The first
/// <see cref="Next"/> is the initial latent noise, with variation seeds and "resize seed from" applied;
/// later calls are the samplers' noise, continuing each image's stream (or restarted from seed + ENSD).
/// Each call returns one (C, H, W) array per image; the caller stacks or uploads them.
/// </summary>
public sealed class ImageNoise
{
    private readonly NoiseSourceKind _kind;
    private readonly long[] _seeds;
    private readonly long[]? _subseeds;
    private readonly double _subseedStrength;
    private readonly NoiseShape _firstShape;
    private readonly long _etaNoiseSeedDelta;
    private INoiseSource[] _generators;
    private bool _isFirst = true;

    /// <param name="kind">The random number source.</param>
    /// <param name="shape">One image's latent noise shape.</param>
    /// <param name="seeds">One seed per image in this batch (see <see cref="SeedList"/>).</param>
    /// <param name="subseeds">Variation seeds per image; images past its end use 0, as A1111 does.</param>
    /// <param name="subseedStrength">Variation strength; 0 turns variation seeds off.</param>
    /// <param name="seedResizeFromHeight">"Resize seed from" height in pixels; 0 or less turns it off.</param>
    /// <param name="seedResizeFromWidth">"Resize seed from" width in pixels; 0 or less turns it off.</param>
    /// <param name="etaNoiseSeedDelta">ENSD: when non-zero, sampler noise restarts from seed + ENSD.</param>
    public ImageNoise(NoiseSourceKind kind, NoiseShape shape, IReadOnlyList<long> seeds,
        IReadOnlyList<long>? subseeds = null, double subseedStrength = 0,
        int seedResizeFromHeight = 0, int seedResizeFromWidth = 0, long etaNoiseSeedDelta = 0)
    {
        _kind = kind;
        Shape = shape;
        _seeds = [.. seeds];
        _subseeds = subseeds is null ? null : [.. subseeds];
        _subseedStrength = subseedStrength;
        _etaNoiseSeedDelta = etaNoiseSeedDelta;
        _firstShape = seedResizeFromHeight <= 0 || seedResizeFromWidth <= 0
            ? shape
            : new NoiseShape(shape.Channels, seedResizeFromHeight / 8, seedResizeFromWidth / 8);
        _generators = [.. _seeds.Select(s => NoiseSources.Create(kind, s))];
    }

    public NoiseShape Shape { get; }

    public int BatchSize => _seeds.Length;

    /// <summary>The next noise for every image: the initial noise first, then sampler noise.</summary>
    public float[][] Next()
    {
        if (_isFirst)
        {
            _isFirst = false;
            return First();
        }
        return [.. _generators.Select(g => g.Randn(Shape.Count))];
    }

    private float[][] First()
    {
        var images = new float[_seeds.Length][];
        bool resized = _firstShape != Shape;
        for (int i = 0; i < _seeds.Length; i++)
        {
            float[]? subnoise = null;
            if (_subseeds is not null && _subseedStrength != 0)
            {
                long subseed = i < _subseeds.Length ? _subseeds[i] : 0;
                subnoise = Fresh(subseed).Randn(_firstShape.Count);
            }

            // A resized seed is drawn from a fresh generator; the image's own one then makes full-size noise.
            float[] noise = resized ? Fresh(_seeds[i]).Randn(_firstShape.Count) : _generators[i].Randn(Shape.Count);
            if (subnoise is not null) noise = Slerp.Blend(_subseedStrength, noise, subnoise, _firstShape);
            if (resized)
            {
                float[] full = _generators[i].Randn(Shape.Count);
                PasteCentered(noise, _firstShape, full, Shape);
                noise = full;
            }
            images[i] = noise;
        }

        if (_etaNoiseSeedDelta != 0)
            _generators = [.. _seeds.Select(s => NoiseSources.Create(_kind, unchecked(s + _etaNoiseSeedDelta)))];
        return images;
    }

    private INoiseSource Fresh(long seed) => NoiseSources.Create(_kind, seed);

    /// <summary>
    /// Centres the smaller noise in the larger (or crops the larger one's centre), with A1111's rounding:
    /// offsets are floor((target − source) / 2), so an odd difference shifts the odd pixel to the end.
    /// </summary>
    internal static void PasteCentered(ReadOnlySpan<float> source, NoiseShape from, Span<float> target, NoiseShape to)
    {
        (int targetY, int sourceY, int rows) = Overlap(to.Height, from.Height);
        (int targetX, int sourceX, int cols) = Overlap(to.Width, from.Width);
        for (int c = 0; c < to.Channels; c++)
            for (int y = 0; y < rows; y++)
                source.Slice((c * from.Height + sourceY + y) * from.Width + sourceX, cols)
                    .CopyTo(target.Slice((c * to.Height + targetY + y) * to.Width + targetX, cols));
    }

    private static (int TargetStart, int SourceStart, int Length) Overlap(int targetSize, int sourceSize)
    {
        int d = FloorHalf(targetSize - sourceSize);
        return d >= 0 ? (d, 0, sourceSize) : (0, -d, sourceSize + 2 * d);
    }

    private static int FloorHalf(int value) => (int)Math.Floor(value / 2.0);
}
