using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SdSharp.Imaging;

/// <summary>
/// The encoder's per-row filter choice: computes all five filtered versions of a row in one pass (16 bytes at a
/// time; encoding filters depend only on the unfiltered rows, so there is no carried dependency) and picks the one
/// with the smallest sum of absolute values, each byte read as signed (libpng's heuristic).
/// </summary>
internal static class AdaptiveFilter
{
    /// <summary>Fills <paramref name="candidates"/>[f][1..] with the row filtered by f (the caller has put f at [0])
    /// and returns the best filter type.</summary>
    public static byte Choose(ReadOnlySpan<byte> row, ReadOnlySpan<byte> prev, int bpp, byte[][] candidates)
    {
        int n = row.Length;
        Span<long> scores = stackalloc long[PngFilters.Count];
        int head = Math.Min(bpp, n);
        int i = head;
        if (Vector128.IsHardwareAccelerated && n >= bpp + Vector128<byte>.Count)
        {
            Span<Vector128<ushort>> sums = stackalloc Vector128<ushort>[PngFilters.Count];
            int blocks = 0;
            for (; i + Vector128<byte>.Count <= n; i += Vector128<byte>.Count)
            {
                FilterBlock(row, prev, bpp, i, candidates, sums);
                if (++blocks == 128) FlushSums(sums, scores, ref blocks);   // 128 blocks × 2 × 255 still fits a ushort
            }
            FlushSums(sums, scores, ref blocks);
        }
        // The first pixel (no left neighbour) and whatever the vectors did not cover.
        ScalarRange(row, prev, bpp, 0, head, candidates, scores);
        ScalarRange(row, prev, bpp, i, n, candidates, scores);

        byte best = 0;
        for (byte f = 1; f < PngFilters.Count; f++)
            if (scores[f] < scores[best]) best = f;
        return best;
    }

    private static void FilterBlock(ReadOnlySpan<byte> row, ReadOnlySpan<byte> prev, int bpp, int i, byte[][] candidates,
                                    Span<Vector128<ushort>> sums)
    {
        ref byte r0 = ref MemoryMarshal.GetReference(row);
        ref byte p0 = ref MemoryMarshal.GetReference(prev);
        Vector128<byte> x = Vector128.LoadUnsafe(ref r0, (nuint)i);
        Vector128<byte> a = Vector128.LoadUnsafe(ref r0, (nuint)(i - bpp));
        Vector128<byte> b = Vector128.LoadUnsafe(ref p0, (nuint)i);
        Vector128<byte> c = Vector128.LoadUnsafe(ref p0, (nuint)(i - bpp));

        Vector128<byte> average = (a & b) + Vector128.ShiftRightLogical(a ^ b, 1);   // floor((a + b) / 2) without overflow
        Store(candidates[PngFilters.None], i, x, ref sums[PngFilters.None]);
        Store(candidates[PngFilters.Sub], i, x - a, ref sums[PngFilters.Sub]);
        Store(candidates[PngFilters.Up], i, x - b, ref sums[PngFilters.Up]);
        Store(candidates[PngFilters.Average], i, x - average, ref sums[PngFilters.Average]);
        Store(candidates[PngFilters.Paeth], i, x - Paeth(a, b, c), ref sums[PngFilters.Paeth]);
    }

    private static Vector128<byte> Paeth(Vector128<byte> a, Vector128<byte> b, Vector128<byte> c)
    {
        var (aLo, aHi) = Vector128.Widen(a);
        var (bLo, bHi) = Vector128.Widen(b);
        var (cLo, cHi) = Vector128.Widen(c);
        return Vector128.Narrow(Paeth(aLo.AsInt16(), bLo.AsInt16(), cLo.AsInt16()).AsUInt16(),
                                Paeth(aHi.AsInt16(), bHi.AsInt16(), cHi.AsInt16()).AsUInt16());
    }

    private static Vector128<short> Paeth(Vector128<short> a, Vector128<short> b, Vector128<short> c)
    {
        Vector128<short> pa = Vector128.Abs(b - c), pb = Vector128.Abs(a - c), pc = Vector128.Abs(a + b - c - c);
        Vector128<short> pickA = Vector128.LessThanOrEqual(pa, pb) & Vector128.LessThanOrEqual(pa, pc);
        Vector128<short> pickB = Vector128.LessThanOrEqual(pb, pc);
        return Vector128.ConditionalSelect(pickA, a, Vector128.ConditionalSelect(pickB, b, c));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(byte[] candidate, int i, Vector128<byte> filtered, ref Vector128<ushort> sum)
    {
        filtered.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(candidate), (nuint)(i + 1));
        // |(sbyte)v| as a byte: -128 wraps to 128, which is right when read unsigned.
        var (lo, hi) = Vector128.Widen(Vector128.Abs(filtered.AsSByte()).AsByte());
        sum += lo + hi;
    }

    private static void FlushSums(Span<Vector128<ushort>> sums, Span<long> scores, ref int blocks)
    {
        for (int f = 0; f < sums.Length; f++)
        {
            var (lo, hi) = Vector128.Widen(sums[f]);
            scores[f] += Vector128.Sum(lo) + Vector128.Sum(hi);
            sums[f] = Vector128<ushort>.Zero;
        }
        blocks = 0;
    }

    private static void ScalarRange(ReadOnlySpan<byte> row, ReadOnlySpan<byte> prev, int bpp, int start, int end,
                                    byte[][] candidates, Span<long> scores)
    {
        for (int i = start; i < end; i++)
        {
            byte x = row[i], b = prev[i];
            byte a = i >= bpp ? row[i - bpp] : (byte)0, c = i >= bpp ? prev[i - bpp] : (byte)0;
            Put(candidates, PngFilters.None, i, x, scores);
            Put(candidates, PngFilters.Sub, i, (byte)(x - a), scores);
            Put(candidates, PngFilters.Up, i, (byte)(x - b), scores);
            Put(candidates, PngFilters.Average, i, (byte)(x - ((a + b) >> 1)), scores);
            Put(candidates, PngFilters.Paeth, i, (byte)(x - PngFilters.PaethPredictor(a, b, c)), scores);
        }
    }

    private static void Put(byte[][] candidates, int filter, int i, byte value, Span<long> scores)
    {
        candidates[filter][i + 1] = value;
        scores[filter] += Math.Abs((int)(sbyte)value);
    }
}
