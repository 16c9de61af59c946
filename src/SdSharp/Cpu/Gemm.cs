using System.Runtime.CompilerServices;
using SdSharp.Tensors;

namespace SdSharp.Cpu;

/// <summary>
/// The B operand of a product, seen as B[k, n]. Weights are stored [N, K] (a row per output feature, the
/// checkpoint layout; any of F32/F16/BF16, converted while packing) or, for activations, [K, N] in F32.
/// </summary>
internal readonly unsafe struct GemmB(byte* data, DType type, nint ld, bool rowsAreN)
{
    public readonly byte* Data = data;
    public readonly DType Type = type;
    /// <summary>Elements between consecutive rows of the stored matrix.</summary>
    public readonly nint Ld = ld;
    /// <summary>True for [N, K] storage: B[k, n] = Data[n·Ld + k]; false for [K, N]: B[k, n] = Data[k·Ld + n].</summary>
    public readonly bool RowsAreN = rowsAreN;
}

/// <summary>Packs a block of the A operand into MR-row panels ([kc][MR] each, k-major), zero-filling rows past the block.</summary>
internal unsafe interface IAPacker
{
    void Pack(int m0, int mc, int k0, int kc, int mr, float* dst);
}

/// <summary>A dense row-major F32 matrix with row stride Lda.</summary>
internal readonly unsafe struct DenseA(float* data, nint lda) : IAPacker
{
    public void Pack(int m0, int mc, int k0, int kc, int mr, float* dst)
    {
        float** rows = stackalloc float*[mr];
        for (int ir = 0; ir < mc; ir += mr)
        {
            for (int r = 0; r < mr; r++)
                rows[r] = ir + r < mc ? data + (m0 + ir + r) * lda + k0 : APanel.Zeros;
            APanel.Interleave(rows, mr, kc, dst + (long)ir * kc);
        }
    }
}

/// <summary>Writing an A panel: MR source rows interleaved k-major, [kc][MR].</summary>
internal static unsafe class APanel
{
    /// <summary>At least a k block of zeros: the source row for padding and for rows past the matrix.</summary>
    public static readonly float* Zeros = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(4096 * sizeof(float), 64);

    static APanel() => new Span<float>(Zeros, 4096).Clear();

    /// <summary>dst[k·mr + r] = rows[r][k] for k &lt; kc.</summary>
    public static void Interleave(float** rows, int mr, int kc, float* dst)
    {
        if (mr == 12)
        {
            // Reading twelve streams and writing one keeps the stores sequential (the strided order is 3× slower).
            float* r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3], r4 = rows[4], r5 = rows[5];
            float* r6 = rows[6], r7 = rows[7], r8 = rows[8], r9 = rows[9], r10 = rows[10], r11 = rows[11];
            for (int k = 0; k < kc; k++, dst += 12)
            {
                dst[0] = r0[k]; dst[1] = r1[k]; dst[2] = r2[k]; dst[3] = r3[k]; dst[4] = r4[k]; dst[5] = r5[k];
                dst[6] = r6[k]; dst[7] = r7[k]; dst[8] = r8[k]; dst[9] = r9[k]; dst[10] = r10[k]; dst[11] = r11[k];
            }
            return;
        }
        for (int k = 0; k < kc; k++, dst += mr)
            for (int r = 0; r < mr; r++) dst[r] = rows[r][k];
    }
}

/// <summary>
/// The implicit im2col matrix of an NHWC convolution: row m = output pixel (b, oy, ox), column k = (ky, kx, ci),
/// matching OHWI weights. Built while packing, so the (9× larger) im2col matrix never exists in memory.
/// </summary>
internal readonly unsafe struct ConvA(float* x, int height, int width, int channels, int outHeight, int outWidth,
    int kernelWidth, Conv2dOptions options) : IAPacker
{
    public void Pack(int m0, int mc, int k0, int kc, int mr, float* dst)
    {
        int tapFirst = k0 / channels, tapLast = (k0 + kc - 1) / channels;
        int pixels = outHeight * outWidth;
        float** rows = stackalloc float*[mr];
        for (int ir = 0; ir < mc; ir += mr)
        {
            for (int tap = tapFirst; tap <= tapLast; tap++)
            {
                int ky = tap / kernelWidth, kx = tap - ky * kernelWidth;
                int ciStart = Math.Max(0, k0 - tap * channels), ciEnd = Math.Min(channels, k0 + kc - tap * channels);
                for (int r = 0; r < mr; r++)
                {
                    rows[r] = APanel.Zeros;
                    if (ir + r >= mc) continue;
                    int m = m0 + ir + r;
                    int b = m / pixels, rem = m - b * pixels;
                    int oy = rem / outWidth, ox = rem - oy * outWidth;
                    float* src = Source(b, oy * options.Stride + ky - options.PadTop, ox * options.Stride + kx - options.PadLeft);
                    if (src != null) rows[r] = src + ciStart;
                }
                APanel.Interleave(rows, mr, ciEnd - ciStart, dst + (long)ir * kc + (long)(tap * channels + ciStart - k0) * mr);
            }
        }
    }

    /// <summary>The input pixel's channel vector, or null where zero padding applies.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float* Source(int b, int iy, int ix)
    {
        if ((uint)iy >= (uint)height || (uint)ix >= (uint)width)
        {
            if (options.PaddingMode == PaddingMode.Zeros) return null;
            iy = ((iy % height) + height) % height;
            ix = ((ix % width) + width) % width;
        }
        return x + (((long)b * height + iy) * width + ix) * channels;
    }
}

/// <summary>
/// C[M×N] += A·B, blocked for caches the GotoBLAS way: B is packed KC×NC at a time (shared by all threads),
/// each task packs an MC×KC block of A and sweeps it across B's NR-wide panels with the micro-kernel.
/// The caller initialises C (zeros, bias, residual), which is how epilogues are fused.
/// </summary>
internal static unsafe class Gemm
{
    private const int MaxKC = 384;
    private const int MC = 144;   // a multiple of every kernel's MR (12, 6, 4)
    private const int NC = 3072;

    public static void Multiply<TA>(CpuParallel parallel, CpuMemoryPool pool, int m, int n, int k, TA a, GemmB b, float* c, nint ldc)
        where TA : struct, IAPacker
    {
        if (m == 0 || n == 0 || k == 0) return;
        if (Avx512Kernel.IsSupported) Run<Avx512Kernel, TA>(parallel, pool, m, n, k, a, b, c, ldc);
        else if (Avx2Kernel.IsSupported) Run<Avx2Kernel, TA>(parallel, pool, m, n, k, a, b, c, ldc);
        else Run<PortableKernel, TA>(parallel, pool, m, n, k, a, b, c, ldc);
    }

    private static void Run<TK, TA>(CpuParallel parallel, CpuMemoryPool pool, int m, int n, int k, TA a, GemmB b, float* c, nint ldc)
        where TK : struct, IGemmKernel where TA : struct, IAPacker
    {
        int nr = TK.NR, mr = TK.MR;
        int maxNc = Math.Min(n, NC);
        // Equal k blocks of at most MaxKC: a short remainder block would pay a full block's packing and C traffic.
        int kBlocks = (k + MaxKC - 1) / MaxKC;
        int KC = RoundUp((k + kBlocks - 1) / kBlocks, 8);
        var bStorage = pool.Allocate((long)Math.Min(k, KC) * RoundUp(maxNc, nr) * sizeof(float));
        float* bPacked = (float*)bStorage.Pointer;
        try
        {
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                int fullPanels = nc / nr, tail = nc - fullPanels * nr;
                int panels = fullPanels + (tail > 0 ? 1 : 0);
                // The last columns use the half-width kernel when they fit it, else a zero-padded full panel.
                int tailWidth = tail == 0 ? 0 : tail <= nr / 2 ? nr / 2 : nr;
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    int jcLocal = jc, pcLocal = pc;
                    parallel.For(panels, p =>
                    {
                        int width = p < fullPanels ? nr : tailWidth;
                        PackB(b, pcLocal, kc, jcLocal + p * nr, Math.Min(nr, nc - p * nr), width, bPacked + (long)p * nr * kc);
                    });

                    int mBlocks = (m + MC - 1) / MC;
                    // With few row blocks (short sequences), also split the column panels between threads.
                    int groups = Math.Clamp((parallel.Threads * 2 + mBlocks - 1) / mBlocks, 1, panels);
                    parallel.For(mBlocks * groups, task =>
                    {
                        int mb = task / groups, g = task % groups;
                        int m0 = mb * MC, mc = Math.Min(MC, m - m0);
                        var aStorage = pool.Allocate((long)RoundUp(mc, mr) * kc * sizeof(float));
                        try
                        {
                            float* aPacked = (float*)aStorage.Pointer;
                            a.Pack(m0, mc, pcLocal, kc, mr, aPacked);
                            SweepPanels<TK>(aPacked, mc, kc, bPacked, panels * g / groups, panels * (g + 1) / groups,
                                fullPanels, tailWidth, nc, c + (long)m0 * ldc + jcLocal, ldc);
                        }
                        finally
                        {
                            aStorage.Release();
                        }
                    });
                }
            }
        }
        finally
        {
            bStorage.Release();
        }
    }

    private static void SweepPanels<TK>(float* aPacked, int mc, int kc, float* bPacked, int panelStart, int panelEnd,
        int fullPanels, int tailWidth, int nc, float* c, nint ldc) where TK : struct, IGemmKernel
    {
        int nr = TK.NR, mr = TK.MR;
        float* edge = stackalloc float[TK.MR * TK.NR];
        for (int p = panelStart; p < panelEnd; p++)
        {
            int n0 = p * nr, width = p < fullPanels ? nr : tailWidth, nValid = Math.Min(nr, nc - n0);
            float* bPanel = bPacked + (long)p * nr * kc;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int mValid = Math.Min(mr, mc - ir);
                float* aPanel = aPacked + (long)ir * kc;
                float* cTile = c + (long)ir * ldc + n0;
                if (mValid == mr && nValid == width)
                {
                    if (width == nr) TK.Wide(kc, aPanel, bPanel, cTile, ldc);
                    else TK.Half(kc, aPanel, bPanel, cTile, ldc);
                    continue;
                }
                // A partial tile: compute into a scratch tile, then add the valid part.
                new Span<float>(edge, mr * width).Clear();
                if (width == nr) TK.Wide(kc, aPanel, bPanel, edge, width);
                else TK.Half(kc, aPanel, bPanel, edge, width);
                for (int r = 0; r < mValid; r++)
                    for (int j = 0; j < nValid; j++) cTile[r * ldc + j] += edge[r * width + j];
            }
        }
    }

    /// <summary>Packs B[k0..k0+kc, n0..n0+nValid] as one panel [kc][width], zero-padding columns past nValid.</summary>
    internal static void PackB(GemmB b, int k0, int kc, int n0, int nValid, int width, float* dst)
    {
        if (!b.RowsAreN)
        {
            for (int k = 0; k < kc; k++)
            {
                float* src = (float*)b.Data + (k0 + k) * b.Ld + n0;
                float* row = dst + (long)k * width;
                new ReadOnlySpan<float>(src, nValid).CopyTo(new Span<float>(row, nValid));
                if (nValid < width) new Span<float>(row + nValid, width - nValid).Clear();
            }
            return;
        }
        float* converted = stackalloc float[kc];
        for (int j = 0; j < width; j++)
        {
            float* col = dst + j;
            if (j >= nValid)
            {
                for (int k = 0; k < kc; k++) col[(long)k * width] = 0;
                continue;
            }
            float* src = RowAsFloat(b, n0 + j, k0, kc, converted);
            for (int k = 0; k < kc; k++) col[(long)k * width] = src[k];
        }
    }

    /// <summary>Elements [k0, k0+count) of stored row <paramref name="row"/> as floats (converted into scratch if needed).</summary>
    private static float* RowAsFloat(GemmB b, int row, int k0, int count, float* scratch)
    {
        long offset = row * b.Ld + k0;
        switch (b.Type)
        {
            case DType.F32:
                return (float*)b.Data + offset;
            case DType.F16:
                NumericConversions.HalfToSingle(new ReadOnlySpan<Half>((Half*)b.Data + offset, count), new Span<float>(scratch, count));
                return scratch;
            default:
                NumericConversions.BFloat16ToSingle(new ReadOnlySpan<ushort>((ushort*)b.Data + offset, count), new Span<float>(scratch, count));
                return scratch;
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
