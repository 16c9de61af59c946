using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SdSharp.Cpu;

/// <summary>
/// A register-blocked GEMM micro-kernel family: C[MR×w] += A·B for one packed A panel ([kc][MR], k-major) and
/// one packed B panel ([kc][w]), where w is the wide width NR or the half width NR/2 (for the last columns).
/// Each kernel keeps its whole C tile in registers for the k loop: that is what makes it run at FMA peak.
/// </summary>
internal unsafe interface IGemmKernel
{
    static abstract int MR { get; }
    static abstract int NR { get; }
    static abstract bool IsSupported { get; }
    static abstract void Wide(int kc, float* a, float* b, float* c, nint ldc);
    static abstract void Half(int kc, float* a, float* b, float* c, nint ldc);
}

/// <summary>AVX-512: 12×32 (24 zmm accumulators + 2 B vectors + 1 broadcast) and 12×16.</summary>
internal unsafe struct Avx512Kernel : IGemmKernel
{
    public static int MR => 12;
    public static int NR => 32;
    public static bool IsSupported => Vector512.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Wide(int kc, float* a, float* b, float* c, nint ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a[8]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a[9]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(a[10]); ca0 = Vector512.FusedMultiplyAdd(x, b0, ca0); ca1 = Vector512.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(a[11]); cb0 = Vector512.FusedMultiplyAdd(x, b0, cb0); cb1 = Vector512.FusedMultiplyAdd(x, b1, cb1);
            a += 12;
            b += 32;
        }
        Add2(c, c00, c01); c += ldc; Add2(c, c10, c11); c += ldc; Add2(c, c20, c21); c += ldc;
        Add2(c, c30, c31); c += ldc; Add2(c, c40, c41); c += ldc; Add2(c, c50, c51); c += ldc;
        Add2(c, c60, c61); c += ldc; Add2(c, c70, c71); c += ldc; Add2(c, c80, c81); c += ldc;
        Add2(c, c90, c91); c += ldc; Add2(c, ca0, ca1); c += ldc; Add2(c, cb0, cb1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Half(int kc, float* a, float* b, float* c, nint ldc)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, ca = default, cb = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            c8 = Vector512.FusedMultiplyAdd(Vector512.Create(a[8]), b0, c8);
            c9 = Vector512.FusedMultiplyAdd(Vector512.Create(a[9]), b0, c9);
            ca = Vector512.FusedMultiplyAdd(Vector512.Create(a[10]), b0, ca);
            cb = Vector512.FusedMultiplyAdd(Vector512.Create(a[11]), b0, cb);
            a += 12;
            b += 16;
        }
        Add1(c, c0); c += ldc; Add1(c, c1); c += ldc; Add1(c, c2); c += ldc; Add1(c, c3); c += ldc;
        Add1(c, c4); c += ldc; Add1(c, c5); c += ldc; Add1(c, c6); c += ldc; Add1(c, c7); c += ldc;
        Add1(c, c8); c += ldc; Add1(c, c9); c += ldc; Add1(c, ca); c += ldc; Add1(c, cb);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add2(float* c, Vector512<float> x, Vector512<float> y)
    {
        (Vector512.Load(c) + x).Store(c);
        (Vector512.Load(c + 16) + y).Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add1(float* c, Vector512<float> x) => (Vector512.Load(c) + x).Store(c);
}

/// <summary>AVX2 + FMA: 6×16 (12 ymm accumulators) and 6×8.</summary>
internal unsafe struct Avx2Kernel : IGemmKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Wide(int kc, float* a, float* b, float* c, nint ldc)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            a += 6;
            b += 16;
        }
        Add2(c, c00, c01); c += ldc; Add2(c, c10, c11); c += ldc; Add2(c, c20, c21); c += ldc;
        Add2(c, c30, c31); c += ldc; Add2(c, c40, c41); c += ldc; Add2(c, c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Half(int kc, float* a, float* b, float* c, nint ldc)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[1]), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[2]), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[3]), b0, c3);
            c4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[4]), b0, c4);
            c5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[5]), b0, c5);
            a += 6;
            b += 8;
        }
        Add1(c, c0); c += ldc; Add1(c, c1); c += ldc; Add1(c, c2); c += ldc;
        Add1(c, c3); c += ldc; Add1(c, c4); c += ldc; Add1(c, c5);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add2(float* c, Vector256<float> x, Vector256<float> y)
    {
        (Vector256.Load(c) + x).Store(c);
        (Vector256.Load(c + 8) + y).Store(c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add1(float* c, Vector256<float> x) => (Vector256.Load(c) + x).Store(c);
}

/// <summary>Portable fallback on <see cref="Vector{T}"/> (NEON, SSE, or no SIMD): 4 × 2 vectors and 4 × 1.</summary>
internal unsafe struct PortableKernel : IGemmKernel
{
    public static int MR => 4;
    public static int NR => 2 * Vector<float>.Count;
    public static bool IsSupported => true;

    public static void Wide(int kc, float* a, float* b, float* c, nint ldc)
    {
        int w = Vector<float>.Count;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default,
            c20 = default, c21 = default, c30 = default, c31 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector.Load(b);
            var b1 = Vector.Load(b + w);
            var x = new Vector<float>(a[0]); c00 = Vector.FusedMultiplyAdd(x, b0, c00); c01 = Vector.FusedMultiplyAdd(x, b1, c01);
            x = new Vector<float>(a[1]); c10 = Vector.FusedMultiplyAdd(x, b0, c10); c11 = Vector.FusedMultiplyAdd(x, b1, c11);
            x = new Vector<float>(a[2]); c20 = Vector.FusedMultiplyAdd(x, b0, c20); c21 = Vector.FusedMultiplyAdd(x, b1, c21);
            x = new Vector<float>(a[3]); c30 = Vector.FusedMultiplyAdd(x, b0, c30); c31 = Vector.FusedMultiplyAdd(x, b1, c31);
            a += 4;
            b += 2 * w;
        }
        Add(c, c00); Add(c + w, c01); c += ldc;
        Add(c, c10); Add(c + w, c11); c += ldc;
        Add(c, c20); Add(c + w, c21); c += ldc;
        Add(c, c30); Add(c + w, c31);
    }

    public static void Half(int kc, float* a, float* b, float* c, nint ldc)
    {
        Vector<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector.Load(b);
            c0 = Vector.FusedMultiplyAdd(new Vector<float>(a[0]), b0, c0);
            c1 = Vector.FusedMultiplyAdd(new Vector<float>(a[1]), b0, c1);
            c2 = Vector.FusedMultiplyAdd(new Vector<float>(a[2]), b0, c2);
            c3 = Vector.FusedMultiplyAdd(new Vector<float>(a[3]), b0, c3);
            a += 4;
            b += Vector<float>.Count;
        }
        Add(c, c0); c += ldc; Add(c, c1); c += ldc; Add(c, c2); c += ldc; Add(c, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* c, Vector<float> x) => (Vector.Load(c) + x).Store(c);
}
