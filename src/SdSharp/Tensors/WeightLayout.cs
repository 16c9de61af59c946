namespace SdSharp.Tensors;

/// <summary>The checkpoint's convolution weights [O, I, kh, kw] turned into the OHWI layout every backend uses.</summary>
internal static unsafe class WeightLayout
{
    /// <summary>
    /// Output channel <paramref name="oc"/> of [O, I, taps] into [O, taps, I], for 2- or 4-byte elements. Channels
    /// are independent, so callers run them in parallel.
    /// </summary>
    public static void OihwToOhwi(byte* src, byte* dst, long oc, int i, int taps, int elementSize)
    {
        long block = (long)i * taps;
        if (elementSize == 2) Transpose((ushort*)src + oc * block, (ushort*)dst + oc * block, i, taps);
        else Transpose((uint*)src + oc * block, (uint*)dst + oc * block, i, taps);
    }

    /// <summary>dst[t·rows + r] = src[r·cols + t]: one output channel's [I, taps] turned into [taps, I].</summary>
    private static void Transpose<T>(T* src, T* dst, int rows, int cols) where T : unmanaged
    {
        for (int t = 0; t < cols; t++)
        {
            T* column = src + t;
            T* row = dst + (long)t * rows;
            for (int r = 0; r < rows; r++) row[r] = column[(long)r * cols];
        }
    }
}
