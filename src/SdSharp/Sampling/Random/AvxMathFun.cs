using static System.BitConverter;

namespace SdSharp.Sampling.Random;

/// <summary>
/// One lane of <c>log256_ps</c> and <c>sincos256_ps</c> (PyTorch's <c>avx_mathfun.h</c>, after Julien
/// Pommier's sse_mathfun and the Cephes single-precision polynomials), reproducing the x86 machine code
/// that GCC emits for PyTorch's AVX2 normal kernel. GCC contracts some multiply–add pairs of the
/// intrinsics into FMA instructions (<c>-ffp-contract=fast</c>); each <see cref="MathF.FusedMultiplyAdd"/>
/// below stands exactly where an FMA instruction stands in that code, and every other step is one
/// IEEE single-precision operation, so the results are bit-identical to torch on Linux x86.
/// Constants are given as bit patterns so no decimal-to-float rounding can differ.
/// </summary>
internal static class AvxMathFun
{
    private const uint SignMask = 0x80000000;
    private const uint InvMantissaMask = 0x807fffff;

    private static readonly float MinNormPos = UInt32BitsToSingle(0x00800000);
    private static readonly float SqrtHalf = UInt32BitsToSingle(0x3f3504f3);

    // log(1 + x) ≈ x − x²/2 + x³·P(x) on [√½ − 1, √2 − 1]; ln 2 = Q2 − Q1 split for extra precision.
    private static readonly float[] LogP =
    [
        UInt32BitsToSingle(0x3d9021bb), UInt32BitsToSingle(0xbdebd1b8), UInt32BitsToSingle(0x3def251a),
        UInt32BitsToSingle(0xbdfe5d4f), UInt32BitsToSingle(0x3e11e9bf), UInt32BitsToSingle(0xbe2aae50),
        UInt32BitsToSingle(0x3e4cceac), UInt32BitsToSingle(0xbe7ffffc), UInt32BitsToSingle(0x3eaaaaaa),
    ];
    private static readonly float LogQ1 = UInt32BitsToSingle(0xb95e8083);
    private static readonly float LogQ2 = UInt32BitsToSingle(0x3f318000);

    private static readonly float FourOverPi = UInt32BitsToSingle(0x3fa2f983);
    // −π/4 in three parts ("extended precision modular arithmetic").
    private static readonly float MinusDp1 = UInt32BitsToSingle(0xbf490000);
    private static readonly float MinusDp2 = UInt32BitsToSingle(0xb97da000);
    private static readonly float MinusDp3 = UInt32BitsToSingle(0xb3222169);
    private static readonly float CosP0 = UInt32BitsToSingle(0x37ccf5ce);
    private static readonly float CosP1 = UInt32BitsToSingle(0xbab6061a);
    private static readonly float CosP2 = UInt32BitsToSingle(0x3d2aaaa5);
    private static readonly float SinP0 = UInt32BitsToSingle(0xb94ca1f9);
    private static readonly float SinP1 = UInt32BitsToSingle(0x3c08839e);
    private static readonly float SinP2 = UInt32BitsToSingle(0xbe2aaaa3);

    /// <summary>Natural log of one lane; NaN for x ≤ 0 as in the original.</summary>
    public static float Log(float x)
    {
        uint invalid = x <= 0f ? 0xffffffffu : 0u;
        x = x > MinNormPos ? x : MinNormPos;

        // Split x = m · 2^e with m in [0.5, 1).
        uint bits = SingleToUInt32Bits(x);
        float e = (int)(bits >> 23) - 0x7f;
        x = UInt32BitsToSingle((bits & InvMantissaMask) | SingleToUInt32Bits(0.5f));
        e += 1f;

        // Below √½, use 2m − 1 and e − 1 so the polynomial argument stays small.
        bool small = x < SqrtHalf;
        float tmp = small ? x : 0f;
        x += -1f;
        e -= small ? 1f : 0f;
        float eQ1 = e * LogQ1;
        x = tmp + x;

        float y = LogP[0];
        for (int k = 1; k < LogP.Length; k++) y = MathF.FusedMultiplyAdd(y, x, LogP[k]);
        float z = x * x;
        y = x * y;
        y = MathF.FusedMultiplyAdd(y, z, eQ1);
        y = MathF.FusedMultiplyAdd(-z, 0.5f, y);
        x += y;
        float result = MathF.FusedMultiplyAdd(e, LogQ2, x);
        return UInt32BitsToSingle(SingleToUInt32Bits(result) | invalid);
    }

    /// <summary>Sine and cosine of one lane, both from one range reduction.</summary>
    public static (float Sin, float Cos) SinCos(float angle)
    {
        uint angleBits = SingleToUInt32Bits(angle);
        float x = UInt32BitsToSingle(angleBits & ~SignMask);
        uint sinSign = angleBits & SignMask;

        // Octant j rounded up to even; its bits pick the polynomial and the signs.
        int j = (int)(x * FourOverPi);
        j = (j + 1) & ~1;
        float y = j;
        sinSign ^= (uint)(j & 4) << 29;
        bool direct = (j & 2) == 0; // sine from the sine polynomial (else the two swap)
        uint cosSign = (uint)(~(j - 2) & 4) << 29;

        x = MathF.FusedMultiplyAdd(y, MinusDp1, x);
        x = MathF.FusedMultiplyAdd(y, MinusDp2, x);
        x = MathF.FusedMultiplyAdd(y, MinusDp3, x);
        float z = x * x;

        float c = MathF.FusedMultiplyAdd(CosP0, z, CosP1);
        c = MathF.FusedMultiplyAdd(z, c, CosP2);
        float halfZ = z * 0.5f;
        c = z * c;
        c = MathF.FusedMultiplyAdd(c, z, -halfZ);
        c += 1f;

        float s = MathF.FusedMultiplyAdd(SinP0, z, SinP1);
        s = MathF.FusedMultiplyAdd(z, s, SinP2);
        s = z * s;
        s = MathF.FusedMultiplyAdd(s, x, x);

        // The original selects with masks and subtractions; keep them, they decide signed zeros.
        float sinPart = direct ? s : 0f;
        float cosPart = direct ? 0f : c;
        float sinRest = s - sinPart;
        float cosRest = c - cosPart;
        float sin = sinPart + cosPart;
        float cos = sinRest + cosRest;
        return (UInt32BitsToSingle(SingleToUInt32Bits(sin) ^ sinSign),
                UInt32BitsToSingle(SingleToUInt32Bits(cos) ^ cosSign));
    }
}
