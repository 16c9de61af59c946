using SdSharp.Imaging;

namespace SdSharp.Tests.Imaging;

/// <summary>The encoder's vectorized filters against the definitions in the PNG specification.</summary>
public class PngFilterTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_candidate_matches_the_specification_and_unfilters_back(int bpp)
    {
        var random = new Random(bpp);
        foreach (int length in new[] { 1, 2, 3, 5, 15, 16, 17, 31, 33, 100, 4099 })
        {
            // Extreme values too: the Paeth and Average predictors are where overflow would show.
            byte[] row = RandomRow(random, length), prev = RandomRow(random, length);
            var candidates = Enumerable.Range(0, 5).Select(f => new byte[length + 1]).ToArray();
            for (int f = 0; f < 5; f++) candidates[f][0] = (byte)f;

            byte best = AdaptiveFilter.Choose(row, prev, bpp, candidates);

            var scores = new long[5];
            for (byte f = 0; f < 5; f++)
            {
                byte[] expected = SpecFilter(f, row, prev, bpp);
                Assert.Equal(expected, candidates[f][1..]);
                scores[f] = expected.Sum(v => (long)Math.Abs((int)(sbyte)v));

                byte[] back = candidates[f][1..];
                PngFilters.Unfilter(f, back, prev, bpp);
                Assert.Equal(row, back);
            }
            Assert.Equal(Array.IndexOf(scores, scores.Min()), best);
        }
    }

    private static byte[] RandomRow(Random random, int length)
    {
        var row = new byte[length];
        for (int i = 0; i < length; i++) row[i] = random.Next(4) switch { 0 => 0, 1 => 255, _ => (byte)random.Next(256) };
        return row;
    }

    /// <summary>PNG specification section 9.2, one byte at a time.</summary>
    private static byte[] SpecFilter(byte type, byte[] row, byte[] prev, int bpp)
    {
        var output = new byte[row.Length];
        for (int i = 0; i < row.Length; i++)
        {
            int a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
            int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
            int paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            int predictor = type switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, _ => paeth };
            output[i] = (byte)(row[i] - predictor);
        }
        return output;
    }
}
