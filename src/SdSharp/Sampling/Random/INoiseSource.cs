namespace SdSharp.Sampling.Random;

/// <summary>
/// A seeded stream of standard normal noise. One call is one <c>randn</c> call of the tool being imitated:
/// call boundaries matter (torch redraws the tail of a call, Philox advances its offset per call), so
/// filling 2·n values in one call differs from two calls of n.
/// </summary>
public interface INoiseSource
{
    /// <summary>The seed this source was created with (or last reseeded with).</summary>
    ulong Seed { get; }

    /// <summary>Fills <paramref name="destination"/> as one <c>randn(destination.Length)</c> call would.</summary>
    void Randn(Span<float> destination);
}

public static class NoiseSourceExtensions
{
    /// <summary>One <c>randn(count)</c> call as a new array.</summary>
    public static float[] Randn(this INoiseSource source, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var values = new float[count];
        source.Randn(values);
        return values;
    }
}
