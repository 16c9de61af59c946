using SdSharp.Tensors;

namespace SdSharp.Text.Conditioning;

/// <summary>A1111's <c>sd_emphasis</c>: weights one chunk index's encoder output for a whole batch.</summary>
internal static class Emphasis
{
    /// <summary>
    /// z [rows, 77, C] → a new tensor with each token's vector times its weight; "Original" then rescales by
    /// mean(z) / mean(weighted z), both means over the whole batch. A batch may hold one text several times (a
    /// prompt alternating every step): each row counts <paramref name="multiplicity"/> times in the means, as the
    /// repeated rows would in A1111's batch.
    /// </summary>
    public static Tensor Apply(Tensor z, float[] weights, int[] multiplicity, EmphasisMode mode)
    {
        IBackend backend = z.Backend;
        if (mode == EmphasisMode.Ignore) return backend.Affine(z, 1f);
        int rows = z.Shape[0], length = z.Shape[1];
        using var multipliers = backend.FromHost(weights, new Shape(rows, length, 1));
        Tensor weighted = backend.Binary(z, BinaryOp.Multiply, multipliers);
        if (mode == EmphasisMode.NoNorm) return weighted;
        using (weighted)
        {
            // "restoring original mean is likely not correct, but it seems to work well" (A1111); the ratio of the
            // two means is taken in the tensor's precision, as torch does.
            float before = (float)Mean(z, multiplicity), after = (float)Mean(weighted, multiplicity);
            return backend.Affine(weighted, before / after);
        }
    }

    /// <summary>The mean over every element, rows counted by multiplicity: row sums on the device, the rest on the host.</summary>
    private static double Mean(Tensor z, int[] multiplicity)
    {
        IBackend backend = z.Backend;
        int rows = z.Shape[0], length = z.Shape[1], channels = z.Shape[2];
        using var ones = backend.Full(new Shape(1, channels), 1f);
        using var flat = z.Reshape(rows * length, channels);
        using var sums = backend.Linear(flat, ones);
        float[] tokenSums = sums.ToArray();
        double total = 0;
        long count = 0;
        for (int r = 0; r < rows; r++)
        {
            double rowSum = 0;
            for (int t = 0; t < length; t++) rowSum += tokenSums[r * length + t];
            total += rowSum * multiplicity[r];
            count += (long)multiplicity[r] * length * channels;
        }
        return total / count;
    }
}
