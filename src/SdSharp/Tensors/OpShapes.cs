namespace SdSharp.Tensors;

/// <summary>
/// The shape rules of the backend ops: each checks its operands (throwing an <see cref="ArgumentException"/> that
/// names the shapes) and returns the result's shape. Every backend calls these, so they accept and reject the same
/// things with the same messages.
/// </summary>
public static class OpShapes
{
    /// <summary>x [..., in] · weight [out, in]ᵀ (+ bias [out]) (+ residual) → [..., out].</summary>
    public static Shape Linear(Tensor x, Tensor weight, Tensor? bias, Tensor? residual)
    {
        if (weight.Shape.Rank != 2 || weight.Shape[1] != x.Shape.Last)
            throw new ArgumentException($"Linear: input {x.Shape} does not match weight {weight.Shape}.");
        var y = x.Shape.WithLast(weight.Shape[0]);
        CheckEpilogue(y, weight.Shape[0], bias, residual);
        return y;
    }

    /// <summary>x [B, H, W, Cin] ⊛ weight [Cout, kh, kw, Cin] → [B, OH, OW, Cout].</summary>
    public static Shape Conv2d(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions options, Tensor? residual)
    {
        if (x.Shape.Rank != 4) throw new ArgumentException($"Conv2d expects NHWC input, got {x.Shape}.");
        if (weight.Shape.Rank != 4 || weight.Shape[3] != x.Shape[3])
            throw new ArgumentException($"Conv2d: input {x.Shape} does not match OHWI weight {weight.Shape}.");
        if (options.Stride < 1) throw new ArgumentException("Conv2d stride must be at least 1.");
        var (oh, ow) = options.OutputSize(x.Shape[1], x.Shape[2], weight.Shape[1], weight.Shape[2]);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"Conv2d: input {x.Shape} is smaller than the {weight.Shape[1]}×{weight.Shape[2]} kernel.");
        var y = new Shape(x.Shape[0], oh, ow, weight.Shape[0]);
        CheckEpilogue(y, weight.Shape[0], bias, residual);
        return y;
    }

    private static void CheckEpilogue(Shape y, int columns, Tensor? bias, Tensor? residual)
    {
        if (bias != null && bias.ElementCount != columns) throw new ArgumentException($"Bias {bias.Shape} for {columns} outputs.");
        if (residual != null && residual.Shape != y) throw new ArgumentException($"Residual {residual.Shape} for output {y}.");
    }

    /// <summary>q [B, Lq, heads·d], k and v [B, Lk, heads·d] → (q's shape, d).</summary>
    public static (Shape Output, int HeadDim) Attention(Tensor q, Tensor k, Tensor v, int heads)
    {
        if (q.Shape.Rank != 3 || k.Shape.Rank != 3 || v.Shape != k.Shape || q.Shape[0] != k.Shape[0] || q.Shape[2] != k.Shape[2])
            throw new ArgumentException($"Attention: q {q.Shape}, k {k.Shape}, v {v.Shape} do not match.");
        int channels = q.Shape[2];
        if (heads <= 0 || channels % heads != 0) throw new ArgumentException($"Attention: {channels} channels do not split into {heads} heads.");
        return (q.Shape, channels / heads);
    }

    /// <summary>Group norm over x [B, ..., C]: returns the spatial size (elements per item and channel).</summary>
    public static int GroupNorm(Tensor x, Tensor weight, Tensor bias, int groups)
    {
        int channels = x.Shape.Last;
        if (x.Shape.Rank < 2 || groups <= 0 || channels % groups != 0 || weight.ElementCount != channels || bias.ElementCount != channels)
            throw new ArgumentException($"GroupNorm: input {x.Shape}, {groups} groups, weight {weight.Shape}, bias {bias.Shape}.");
        return checked((int)(x.ElementCount / ((long)x.Shape[0] * channels)));
    }

    public static void LayerNorm(Tensor x, Tensor weight, Tensor? bias)
    {
        int channels = x.Shape.Last;
        if (weight.ElementCount != channels || (bias != null && bias.ElementCount != channels))
            throw new ArgumentException($"LayerNorm: input {x.Shape}, weight {weight.Shape}.");
    }

    /// <summary>[..., 2n] → [..., n].</summary>
    public static Shape Geglu(Tensor x)
    {
        if (x.Shape.Last % 2 != 0) throw new ArgumentException($"GEGLU needs an even last dimension, got {x.Shape}.");
        return x.Shape.WithLast(x.Shape.Last / 2);
    }

    public static void SameShape(Tensor x, Tensor y, string op)
    {
        if (x.Shape != y.Shape) throw new ArgumentException($"{op}: shapes {x.Shape} and {y.Shape} differ.");
    }

    /// <summary>Concatenation along <paramref name="axis"/> (negative counts from the end): the result shape and the axis.</summary>
    public static (Shape Output, int Axis) Concat(IReadOnlyList<Tensor> parts, int axis)
    {
        if (parts.Count == 0) throw new ArgumentException("Concat of nothing.");
        var first = parts[0].Shape;
        if (axis < 0) axis += first.Rank;
        if (axis < 0 || axis >= first.Rank) throw new ArgumentException($"Concat: no axis {axis} in {first}.");
        int total = 0;
        foreach (var p in parts)
        {
            if (p.Shape.Rank != first.Rank) throw new ArgumentException("Concat: ranks differ.");
            for (int d = 0; d < first.Rank; d++)
                if (d != axis && p.Shape[d] != first[d]) throw new ArgumentException($"Concat on axis {axis}: {first} vs {p.Shape}.");
            total += p.Shape[axis];
        }
        return (first.With(axis, total), axis);
    }

    /// <summary>Items [start, start+count) of one axis: the result shape and the axis.</summary>
    public static (Shape Output, int Axis) Slice(Tensor x, int axis, int start, int count)
    {
        if (axis < 0) axis += x.Shape.Rank;
        if (axis < 0 || axis >= x.Shape.Rank || start < 0 || count < 0 || start + count > x.Shape[axis])
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice {start}+{count} of axis {axis} of {x.Shape}.");
        return (x.Shape.With(axis, count), axis);
    }

    /// <summary>x [B, H, W, C] resized to [B, height, width, C].</summary>
    public static Shape Resize(Tensor x, int height, int width, string op)
    {
        if (x.Shape.Rank != 4) throw new ArgumentException($"{op} expects NHWC [B, H, W, C], got {x.Shape}.");
        if (height <= 0 || width <= 0) throw new ArgumentException($"{op} to {height}×{width}.");
        return new Shape(x.Shape[0], height, width, x.Shape[3]);
    }

    /// <summary>Rows of table [n, d] picked by id → [ids, d].</summary>
    public static Shape Embedding(Tensor table, ReadOnlySpan<int> ids)
    {
        if (table.Shape.Rank != 2) throw new ArgumentException($"Embedding table must be 2-D, got {table.Shape}.");
        foreach (int id in ids)
            if ((uint)id >= (uint)table.Shape[0]) throw new ArgumentOutOfRangeException(nameof(ids), $"Id {id} outside an embedding table of {table.Shape[0]} rows.");
        return new Shape(ids.Length, table.Shape[1]);
    }
}
