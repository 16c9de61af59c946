namespace SdSharp.IO;

/// <summary>Shape arithmetic on untrusted numbers: every product is overflow-checked and reported as false.</summary>
internal static class ShapeMath
{
    /// <summary>Product of the dimensions; false if one is negative or the product overflows.</summary>
    public static bool TryElementCount(ReadOnlySpan<long> shape, out long count)
    {
        count = 1;
        bool empty = false;
        foreach (long d in shape)
        {
            if (d < 0) return false;
            if (d == 0) empty = true;
        }
        if (empty)
        {
            count = 0;
            return true;
        }
        foreach (long d in shape)
        {
            if (count > long.MaxValue / d) return false;
            count *= d;
        }
        return true;
    }

    /// <summary>Elements times element size, false on overflow.</summary>
    public static bool TryByteLength(ReadOnlySpan<long> shape, ElementType type, out long bytes)
    {
        bytes = 0;
        if (!TryElementCount(shape, out long count) || count > long.MaxValue / type.Size()) return false;
        bytes = count * type.Size();
        return true;
    }

    /// <summary>True when the strides are those of a row-major layout (dimensions of size 1 may have any stride).</summary>
    public static bool IsContiguous(ReadOnlySpan<long> shape, ReadOnlySpan<long> strides)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 0) return true;
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /// <summary>
    /// One past the largest element index a strided view touches (<paramref name="offset"/> for an empty view);
    /// false if a stride is negative or the sum overflows.
    /// </summary>
    public static bool TryExtent(ReadOnlySpan<long> shape, ReadOnlySpan<long> strides, long offset, out long end)
    {
        end = offset;
        if (offset < 0) return false;
        foreach (long d in shape) if (d == 0) return true;
        long last = offset;
        for (int i = 0; i < shape.Length; i++)
        {
            if (strides[i] < 0 || shape[i] < 0) return false;
            long step = shape[i] - 1;
            if (step != 0 && strides[i] > (long.MaxValue - last) / step) return false;
            last += step * strides[i];
        }
        if (last == long.MaxValue) return false;
        end = last + 1;
        return true;
    }
}
