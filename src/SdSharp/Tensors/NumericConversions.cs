using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SdSharp.Tensors;

/// <summary>Bulk conversions between fp32 and the 16-bit float formats weights are stored in.</summary>
public static class NumericConversions
{
    public static void HalfToSingle(ReadOnlySpan<Half> source, Span<float> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("Destination too short.");
        ReadOnlySpan<ushort> bits = MemoryMarshal.Cast<Half, ushort>(source);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort src = ref MemoryMarshal.GetReference(bits);
            ref float dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= bits.Length - 16; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                HalfBitsToSingle(lo).StoreUnsafe(ref dst, (nuint)i);
                HalfBitsToSingle(hi).StoreUnsafe(ref dst, (nuint)(i + 8));
            }
        }
        for (; i < bits.Length; i++) destination[i] = (float)source[i];
    }

    /// <summary>
    /// Half bits (zero-extended to 32) to float: shift the exponent and mantissa into place and rescale by
    /// 2^112, which also normalises subnormals exactly; infinities and NaNs keep an all-ones exponent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfBitsToSingle(Vector256<uint> h)
    {
        Vector256<uint> sign = (h & Vector256.Create(0x8000u)) << 16;
        Vector256<uint> magnitude = h & Vector256.Create(0x7FFFu);
        Vector256<uint> shifted = magnitude << 13;
        Vector256<uint> finite = (shifted.AsSingle() * Vector256.Create(5.192296858534828e+33f)).AsUInt32(); // 2^112
        Vector256<uint> special = shifted | Vector256.Create(0x7F800000u);
        Vector256<uint> isSpecial = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(0x7C00u));
        return (Vector256.ConditionalSelect(isSpecial, special, finite) | sign).AsSingle();
    }

    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("Destination too short.");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref float dst = ref MemoryMarshal.GetReference(destination);
            for (; i <= source.Length - 16; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                (lo << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i);
                (hi << 16).AsSingle().StoreUnsafe(ref dst, (nuint)(i + 8));
            }
        }
        for (; i < source.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(source[i] << 16);
    }

    /// <summary>fp32 values stored as <paramref name="type"/> (rounded once) into <paramref name="destination"/>'s bytes.</summary>
    public static void FromSingle(ReadOnlySpan<float> source, DType type, Span<byte> destination)
    {
        switch (type)
        {
            case DType.F32: MemoryMarshal.AsBytes(source).CopyTo(destination); break;
            case DType.F16: SingleToHalf(source, MemoryMarshal.Cast<byte, Half>(destination)); break;
            default: SingleToBFloat16(source, MemoryMarshal.Cast<byte, ushort>(destination)); break;
        }
    }

    public static void SingleToHalf(ReadOnlySpan<float> source, Span<Half> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("Destination too short.");
        for (int i = 0; i < source.Length; i++) destination[i] = (Half)source[i];
    }

    public static void SingleToBFloat16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("Destination too short.");
        for (int i = 0; i < source.Length; i++) destination[i] = SingleToBFloat16(source[i]);
    }

    /// <summary>Round to nearest even, as torch does; NaN stays a (quiet) NaN.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    public static float BFloat16ToSingle(ushort value) => BitConverter.Int32BitsToSingle(value << 16);
}
