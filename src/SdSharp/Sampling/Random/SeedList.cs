namespace SdSharp.Sampling.Random;

/// <summary>A1111's seeds for every image of a job (<c>processing.py</c>: <c>all_seeds</c>, <c>all_subseeds</c>).</summary>
public static class SeedList
{
    /// <summary>
    /// Image i gets seed + i; with variation seeds on (strength ≠ 0) every image keeps the same seed and
    /// only the subseeds vary.
    /// </summary>
    public static long[] Seeds(long seed, int count, double subseedStrength = 0) =>
        [.. Enumerable.Range(0, count).Select(i => unchecked(seed + (subseedStrength == 0 ? i : 0)))];

    /// <summary>Image i gets subseed + i.</summary>
    public static long[] Subseeds(long subseed, int count) =>
        [.. Enumerable.Range(0, count).Select(i => unchecked(subseed + i))];

    /// <summary>The seeds of batch <paramref name="batchIndex"/>: A1111's <c>all_seeds[n*bs:(n+1)*bs]</c>.</summary>
    public static long[] Batch(IReadOnlyList<long> all, int batchIndex, int batchSize) =>
        [.. all.Skip(batchIndex * batchSize).Take(batchSize)];
}
