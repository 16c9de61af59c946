using System.Numerics;
using System.Runtime.InteropServices;

namespace SdSharp.Cpu;

/// <summary>
/// Multi-head attention in the flash style: per head, K and V are packed once; each block of queries computes
/// S = Q·Kᵀ one key block at a time, folds it into a running softmax (row max m, row sum l) and accumulates
/// O += P·V, so the Lq×Lk score matrix never exists in memory. The products run on the GEMM micro-kernels.
/// </summary>
internal static unsafe class CpuAttention
{
    private const int KeyBlock = 256;
    private const int MaxDepthChunk = 256;

    public static void Run(CpuParallel parallel, CpuMemoryPool pool, float* q, float* k, float* v, float* output,
        int batch, int queries, int keys, int heads, int depth, bool causal)
    {
        if (Avx512Kernel.IsSupported) Run<Avx512Kernel>(parallel, pool, q, k, v, output, batch, queries, keys, heads, depth, causal);
        else if (Avx2Kernel.IsSupported) Run<Avx2Kernel>(parallel, pool, q, k, v, output, batch, queries, keys, heads, depth, causal);
        else Run<PortableKernel>(parallel, pool, q, k, v, output, batch, queries, keys, heads, depth, causal);
    }

    private static void Run<TK>(CpuParallel parallel, CpuMemoryPool pool, float* q, float* k, float* v, float* output,
        int batch, int queries, int keys, int heads, int depth, bool causal) where TK : struct, IGemmKernel
    {
        int mr = TK.MR;
        int queryBlock = mr * 8;
        int qBlocks = (queries + queryBlock - 1) / queryBlock;
        // Enough tasks for every thread: split a head's queries when there are few heads (the VAE has one).
        int chunksPerHead = Math.Clamp(parallel.Threads * 2 / Math.Max(1, batch * heads), 1, qBlocks);
        parallel.For(batch * heads * chunksPerHead, task =>
        {
            int chunk = task % chunksPerHead, bh = task / chunksPerHead;
            int b = bh / heads, h = bh % heads;
            int blockStart = qBlocks * chunk / chunksPerHead, blockEnd = qBlocks * (chunk + 1) / chunksPerHead;
            var head = new Head<TK>(pool, k, v, b, h, keys, heads, depth);
            try
            {
                for (int qb = blockStart; qb < blockEnd; qb++)
                {
                    int q0 = qb * queryBlock, rows = Math.Min(queryBlock, queries - q0);
                    head.Attend(q + ((long)b * queries + q0) * heads * depth + h * depth,
                        output + ((long)b * queries + q0) * heads * depth + h * depth, q0, rows, causal);
                }
            }
            finally
            {
                head.Dispose();
            }
        });
    }

    /// <summary>One head's packed keys and values and the scratch of one worker.</summary>
    private readonly struct Head<TK> : IDisposable where TK : struct, IGemmKernel
    {
        private readonly CpuStorage _memory;
        private readonly float* _keysPacked, _valuesPacked, _queryPacked, _scores, _probs, _out, _rowMax, _rowSum;
        private readonly int _keys, _depth, _stride, _keysPadded, _depthPadded, _depthChunks;

        public Head(CpuMemoryPool pool, float* k, float* v, int b, int h, int keys, int heads, int depth)
        {
            int mr = TK.MR, nr = TK.NR, queryBlock = mr * 8;
            _keys = keys;
            _depth = depth;
            _stride = heads * depth;
            _keysPadded = (keys + nr - 1) / nr * nr;
            _depthPadded = (depth + nr - 1) / nr * nr;
            _depthChunks = (depth + MaxDepthChunk - 1) / MaxDepthChunk;
            long keyFloats = (long)depth * _keysPadded, valueFloats = (long)_keysPadded * _depthPadded;
            long queryFloats = (long)queryBlock * depth, scoreFloats = (long)queryBlock * KeyBlock;
            long outFloats = (long)queryBlock * _depthPadded;
            long total = keyFloats + valueFloats + queryFloats + 2 * scoreFloats + outFloats + 2 * queryBlock;
            _memory = pool.Allocate(total * sizeof(float));
            float* p = (float*)_memory.Pointer;
            _keysPacked = p; p += keyFloats;
            _valuesPacked = p; p += valueFloats;
            _queryPacked = p; p += queryFloats;
            _scores = p; p += scoreFloats;
            _probs = p; p += scoreFloats;
            _out = p; p += outFloats;
            _rowMax = p; p += queryBlock;
            _rowSum = p;

            float* kHead = k + (long)b * keys * _stride + h * depth;
            float* vHead = v + (long)b * keys * _stride + h * depth;
            // Keys as the B operand of S = Q·Kᵀ: per depth chunk, panels of NR keys, [chunk][NR].
            for (int c = 0; c < _depthChunks; c++)
            {
                int d0 = c * MaxDepthChunk, dc = Math.Min(MaxDepthChunk, depth - d0);
                for (int j0 = 0; j0 < _keysPadded; j0 += nr)
                {
                    float* panel = _keysPacked + (long)d0 * _keysPadded + (long)j0 * dc;
                    for (int j = 0; j < nr; j++)
                    {
                        float* src = j0 + j < keys ? kHead + (long)(j0 + j) * _stride + d0 : null;
                        for (int d = 0; d < dc; d++) panel[d * nr + j] = src == null ? 0 : src[d];
                    }
                }
            }
            // Values as the B operand of O = P·V: rows are keys, panels of NR depth columns, [keys][NR].
            for (int j = 0; j < _keysPadded; j++)
            {
                float* src = j < keys ? vHead + (long)j * _stride : null;
                for (int d0 = 0; d0 < _depthPadded; d0 += nr)
                {
                    float* row = _valuesPacked + (long)d0 * _keysPadded + (long)j * nr;
                    for (int d = 0; d < nr; d++) row[d] = src != null && d0 + d < depth ? src[d0 + d] : 0;
                }
            }
        }

        public void Attend(float* qRows, float* outRows, int q0, int rows, bool causal)
        {
            int mr = TK.MR, nr = TK.NR;
            int rowsPadded = (rows + mr - 1) / mr * mr;
            float scale = 1f / MathF.Sqrt(_depth);

            // Q, pre-scaled by 1/√d, as MR-row A panels per depth chunk.
            float** rowPtrs = stackalloc float*[mr];
            for (int c = 0; c < _depthChunks; c++)
            {
                int d0 = c * MaxDepthChunk, dc = Math.Min(MaxDepthChunk, _depth - d0);
                for (int ir = 0; ir < rowsPadded; ir += mr)
                {
                    for (int r = 0; r < mr; r++)
                        rowPtrs[r] = ir + r < rows ? qRows + (long)(ir + r) * _stride + d0 : APanel.Zeros;
                    APanel.Interleave(rowPtrs, mr, dc, _queryPacked + (long)d0 * rowsPadded + (long)ir * dc);
                }
            }
            for (long i = 0; i < (long)_depth * rowsPadded; i++) _queryPacked[i] *= scale;

            new Span<float>(_out, rowsPadded * _depthPadded).Clear();
            new Span<float>(_rowMax, rowsPadded).Fill(float.NegativeInfinity);
            new Span<float>(_rowSum, rowsPadded).Clear();

            int keyLimit = causal ? Math.Min(_keys, q0 + rows) : _keys;
            for (int j0 = 0; j0 < keyLimit; j0 += KeyBlock)
            {
                int kb = Math.Min(KeyBlock, keyLimit - j0), kbPadded = (kb + nr - 1) / nr * nr;
                // S = Q·Kᵀ for this key block, accumulated over depth chunks.
                new Span<float>(_scores, rowsPadded * kbPadded).Clear();
                for (int c = 0; c < _depthChunks; c++)
                {
                    int d0 = c * MaxDepthChunk, dc = Math.Min(MaxDepthChunk, _depth - d0);
                    for (int jp = 0; jp < kbPadded; jp += nr)
                    {
                        float* keyPanel = _keysPacked + (long)d0 * _keysPadded + (long)(j0 + jp) * dc;
                        for (int ir = 0; ir < rowsPadded; ir += mr)
                            TK.Wide(dc, _queryPacked + (long)d0 * rowsPadded + (long)ir * dc, keyPanel, _scores + (long)ir * kbPadded + jp, kbPadded);
                    }
                }
                Softmax(q0, rows, rowsPadded, j0, kb, kbPadded, causal);
                // O += P·V over this key block.
                for (int dp = 0; dp < _depthPadded; dp += nr)
                {
                    float* valuePanel = _valuesPacked + (long)dp * _keysPadded + (long)j0 * nr;
                    for (int ir = 0; ir < rowsPadded; ir += mr)
                        TK.Wide(kb, _probs + (long)ir * kb, valuePanel, _out + (long)ir * _depthPadded + dp, _depthPadded);
                }
            }

            for (int r = 0; r < rows; r++)
            {
                float inverse = _rowSum[r] > 0 ? 1f / _rowSum[r] : 0f;
                float* src = _out + (long)r * _depthPadded;
                float* dst = outRows + (long)r * _stride;
                for (int d = 0; d < _depth; d++) dst[d] = src[d] * inverse;
            }
        }

        /// <summary>
        /// Folds a block of scores into the running softmax: new row max, rescale of the row's sum and output,
        /// and P = exp(S − max) written as k-major A panels for the P·V product.
        /// </summary>
        private void Softmax(int q0, int rows, int rowsPadded, int j0, int kb, int kbPadded, bool causal)
        {
            int mr = TK.MR;
            int vw = Vector<float>.Count;
            float* p = stackalloc float[kb];
            for (int r = 0; r < rowsPadded; r++)
            {
                float* s = _scores + (long)r * kbPadded;
                int valid = r >= rows ? 0 : causal ? Math.Clamp(q0 + r - j0 + 1, 0, kb) : kb;
                float max = float.NegativeInfinity;
                for (int j = 0; j < valid; j++) max = MathF.Max(max, s[j]);
                float previous = _rowMax[r], newMax = MathF.Max(previous, max);
                if (valid == 0 || float.IsNegativeInfinity(newMax))
                {
                    new Span<float>(p, kb).Clear();
                }
                else
                {
                    float correction = float.IsNegativeInfinity(previous) ? 0f : MathF.Exp(previous - newMax);
                    _rowMax[r] = newMax;
                    var shift = new Vector<float>(newMax);
                    var sum = Vector<float>.Zero;
                    int j = 0;
                    for (; j <= valid - vw; j += vw)
                    {
                        var e = Vector.Exp(Vector.Load(s + j) - shift);
                        e.Store(p + j);
                        sum += e;
                    }
                    float total = Vector.Sum(sum);
                    for (; j < valid; j++) total += p[j] = MathF.Exp(s[j] - newMax);
                    for (; j < kb; j++) p[j] = 0;
                    _rowSum[r] = _rowSum[r] * correction + total;
                    if (correction != 1f)
                    {
                        float* o = _out + (long)r * _depthPadded;
                        for (int d = 0; d < _depthPadded; d++) o[d] *= correction;
                    }
                }
                // Interleave into the panel layout: row r of panel r/mr, [kb][mr].
                float* panel = _probs + (long)(r / mr * mr) * kb + r % mr;
                for (int jj = 0; jj < kb; jj++) panel[jj * mr] = p[jj];
            }
        }

        public void Dispose() => _memory.Release();
    }
}
