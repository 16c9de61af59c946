namespace SdSharp.Tensors;

/// <summary>An immutable list of dimension sizes, row-major (the last dimension is contiguous).</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[] _dims;

    public Shape(params int[] dims)
    {
        foreach (int d in dims)
            if (d < 0) throw new ArgumentException($"Negative dimension in [{string.Join(", ", dims)}].");
        _dims = (int[])dims.Clone();
    }

    public int Rank => _dims?.Length ?? 0;
    public int this[int axis] => _dims[axis < 0 ? axis + Rank : axis];
    public ReadOnlySpan<int> Dims => _dims;

    /// <summary>Number of elements (1 for a scalar shape).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (int d in Dims) n *= d;
            return n;
        }
    }

    /// <summary>The last dimension: channels in NHWC, features in [B, L, C].</summary>
    public int Last => this[Rank - 1];

    /// <summary>The product of all dimensions but the last: rows of a [rows, Last] matrix view.</summary>
    public long Rows => Rank == 0 ? 1 : ElementCount / Math.Max(1, Last);

    /// <summary>This shape with the last dimension replaced.</summary>
    public Shape WithLast(int size)
    {
        var dims = (int[])_dims.Clone();
        dims[^1] = size;
        return new Shape(dims);
    }

    public Shape With(int axis, int size)
    {
        var dims = (int[])_dims.Clone();
        dims[axis < 0 ? axis + Rank : axis] = size;
        return new Shape(dims);
    }

    public int[] ToArray() => (int[])_dims.Clone();

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);
    public override string ToString() => $"[{string.Join(", ", _dims ?? [])}]";
}
