using SdSharp.Tensors;

namespace SdSharp.Cpu;

/// <summary>
/// How a right operand b broadcasts over a (NumPy rules, b's dims right-aligned, each 1 or equal): as the same
/// shape, or row by row over a's last dimension, where each row of a meets one row of b (or one scalar of b
/// when b's last dimension is 1). Covers per-channel [C], per-batch-channel [B,1,1,C] and per-item [B,1,1,1].
/// </summary>
internal sealed class Broadcast
{
    private readonly int[] _aOuter;      // a's dims except the last
    private readonly long[] _bStrides;   // b's row stride per outer dim of a (0 where b broadcasts)

    private Broadcast(bool sameShape, bool scalarRows, int[] aOuter, long[] bStrides)
    {
        SameShape = sameShape;
        ScalarRows = scalarRows;
        _aOuter = aOuter;
        _bStrides = bStrides;
    }

    public bool SameShape { get; }
    /// <summary>b's last dimension is 1: each row of a meets a single value.</summary>
    public bool ScalarRows { get; }

    public static Broadcast Plan(Shape a, Shape b)
    {
        if (a == b) return new Broadcast(true, false, [], []);
        if (b.Rank > a.Rank) throw new ArgumentException($"Cannot broadcast {b} onto {a}.");
        var bDims = new int[a.Rank];
        for (int i = 0; i < a.Rank; i++)
        {
            int j = i - (a.Rank - b.Rank);
            bDims[i] = j >= 0 ? b[j] : 1;
            if (bDims[i] != 1 && bDims[i] != a[i]) throw new ArgumentException($"Cannot broadcast {b} onto {a}.");
        }
        bool scalarRows = bDims[^1] == 1 && a.Last != 1;
        int rowLength = scalarRows ? 1 : bDims[^1];
        var outer = new int[a.Rank - 1];
        var strides = new long[a.Rank - 1];
        long stride = rowLength;
        for (int i = a.Rank - 2; i >= 0; i--)
        {
            outer[i] = a[i];
            strides[i] = bDims[i] == 1 ? 0 : stride;
            stride *= bDims[i];
        }
        return new Broadcast(false, scalarRows, outer, strides);
    }

    /// <summary>a's dims except the last, and b's row stride per dim (0 where b broadcasts): for device kernels.</summary>
    public (int[] Outer, long[] Strides) Layout => (_aOuter, _bStrides);

    /// <summary>Offset (in elements) of the row of b that meets row r of a.</summary>
    public long RowOffset(long r)
    {
        long offset = 0;
        for (int i = _aOuter.Length - 1; i >= 0; i--)
        {
            long index = r % _aOuter[i];
            r /= _aOuter[i];
            offset += index * _bStrides[i];
        }
        return offset;
    }
}
