namespace SdSharp.IO.Pickle;

/// <summary>
/// torch._utils._rebuild_tensor{,_v2,_v3}: a tensor is (storage, storage_offset, size, stride, ...). The view is
/// validated against its storage here, so a hostile file cannot make a reader step outside the storage's bytes.
/// </summary>
internal static class TorchTensors
{
    /// <summary>More dimensions than any real tensor; bounds the work on a hostile shape.</summary>
    public const int MaxDimensions = 64;

    /// <param name="dtype">The element type for _rebuild_tensor_v3; null to use the storage's.</param>
    public static PickleTensor Rebuild(PickleTuple args, ElementType? dtype)
    {
        if (args[0] is not PickleStorage storage) throw new PickleException($"tensor storage is a {PickleTypes.Name(args[0])}");
        if (args[1] is not long offset || offset < 0) throw new PickleException("tensor storage offset is not a non-negative int");
        long[] shape = Integers(args[2], "size");
        long[] strides = Integers(args[3], "stride");
        if (shape.Length != strides.Length) throw new PickleException($"tensor has {shape.Length} sizes but {strides.Length} strides");
        bool requiresGrad = args.Count > 4 && args[4] is true;
        ElementType type = dtype ?? storage.ElementType;

        if (!ShapeMath.TryElementCount(shape, out _)) throw new PickleException($"tensor size [{string.Join(", ", shape)}] is invalid");
        if (!ShapeMath.TryExtent(shape, strides, offset, out long end)) throw new PickleException("tensor strides are invalid");
        long capacity = storage.ByteLength / type.Size();
        if (end > capacity)
            throw new PickleException($"tensor view [{string.Join(", ", shape)}] at offset {offset} runs past its storage ({capacity} elements)");
        return new PickleTensor(storage, type, offset, shape, strides, requiresGrad);
    }

    private static long[] Integers(object? value, string what)
    {
        if (value is not (PickleTuple or List<object?>)) throw new PickleException($"tensor {what} is a {PickleTypes.Name(value)}");
        var items = (IReadOnlyList<object?>)value;
        if (items.Count > MaxDimensions) throw new PickleException($"tensor has {items.Count} dimensions");
        var result = new long[items.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = items[i] is long v and >= 0 ? v : throw new PickleException($"tensor {what} holds {PickleTypes.Name(items[i])} {items[i]}");
        return result;
    }
}
