using System.Numerics;
using SdSharp.Tensors;

namespace SdSharp.Cpu;

/// <summary>
/// Multi-head attention in the flash style, computed transposed: per head, keys are packed as the A operand and
/// values as the B operand once; each block of queries computes Sᵀ = K·Qᵀ (keys × queries) one key block at a
/// time, so the running softmax works down columns with every vector lane a different query (no scalar max or
/// sum chains), and P for O += P·V is a contiguous copy of Sᵀ's rows. The Lq×Lk score matrix never exists.
/// </summary>
internal static unsafe class CpuAttention
{
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
        int qBlocks = (queries + Head<TK>.QueryBlock - 1) / Head<TK>.QueryBlock;
        // Enough tasks for every thread: split a head's queries when there are few heads (the VAE has one).
        int chunksPerHead = Math.Clamp(parallel.Threads * 2 / Math.Max(1, batch * heads), 1, qBlocks);
        parallel.For(batch * heads * chunksPerHead, task =>
        {
            int chunk = task % chunksPerHead, bh = task / chunksPerHead;
            int b = bh / heads, h = bh % heads;
            using var head = new Head<TK>(pool, k, v, b, h, keys, heads, depth);
            for (int qb = qBlocks * chunk / chunksPerHead; qb < qBlocks * (chunk + 1) / chunksPerHead; qb++)
            {
                int q0 = qb * Head<TK>.QueryBlock, rows = Math.Min(Head<TK>.QueryBlock, queries - q0);
                long offset = ((long)b * queries + q0) * heads * depth + h * depth;
                head.Attend(q + offset, output + offset, q0, rows, causal);
            }
        });
    }

    /// <summary>One head's packed keys and values and one worker's scratch.</summary>
    private readonly struct Head<TK> : IDisposable where TK : struct, IGemmKernel
    {
        /// <summary>Queries per block: a multiple of every kernel's MR and NR (12/32, 6/16, 4/…).</summary>
        public static int QueryBlock => 96;
        /// <summary>Keys per block: a multiple of MR.</summary>
        private static int KeyBlock => 240;

        private readonly CpuStorage _memory;
        private readonly float* _keysPacked, _valuesPacked, _queryPacked, _scores, _probs, _out, _rowMax, _rowSum;
        private readonly int _keys, _depth, _stride, _keysPadded, _depthChunks, _valueFull, _valueTail;

        public Head(CpuMemoryPool pool, float* k, float* v, int b, int h, int keys, int heads, int depth)
        {
            int mr = TK.MR, nr = TK.NR;
            _keys = keys;
            _depth = depth;
            _stride = heads * depth;
            _keysPadded = (keys + mr - 1) / mr * mr;
            _depthChunks = (depth + MaxDepthChunk - 1) / MaxDepthChunk;
            // Value columns: full NR panels, and a half panel for a short tail (head dim 40 = 32 + 8 → 48, not 64).
            _valueFull = depth / nr;
            int tail = depth - _valueFull * nr;
            _valueTail = tail == 0 ? 0 : tail <= nr / 2 ? nr / 2 : nr;
            int depthPadded = _valueFull * nr + _valueTail;
            long keyFloats = (long)_keysPadded * depth, valueFloats = (long)_keysPadded * depthPadded;
            long queryFloats = (long)depth * QueryBlock, scoreFloats = (long)KeyBlock * QueryBlock;
            long outFloats = (long)QueryBlock * depthPadded;
            _memory = pool.Allocate((keyFloats + valueFloats + queryFloats + 2 * scoreFloats + outFloats + 2 * QueryBlock) * sizeof(float));
            float* p = (float*)_memory.Pointer;
            _keysPacked = p; p += keyFloats;
            _valuesPacked = p; p += valueFloats;
            _queryPacked = p; p += queryFloats;
            _scores = p; p += scoreFloats;
            _probs = p; p += scoreFloats;
            _out = p; p += outFloats;
            _rowMax = p; p += QueryBlock;
            _rowSum = p;

            float* kHead = k + (long)b * keys * _stride + h * depth;
            float* vHead = v + (long)b * keys * _stride + h * depth;
            // Keys as the A operand of Sᵀ = K·Qᵀ: per depth chunk, MR-key panels [chunk][MR].
            var keyRows = new DenseA(kHead, _stride);
            for (int c = 0; c < _depthChunks; c++)
            {
                int d0 = c * MaxDepthChunk, dc = Math.Min(MaxDepthChunk, depth - d0);
                keyRows.Pack(0, keys, d0, dc, mr, _keysPacked + (long)d0 * _keysPadded);
            }
            // Values as the B operand of O = P·V: B[key, d], panels of NR (and one half) depth columns, [keys][width].
            var values = new GemmB((byte*)vHead, DType.F32, _stride, rowsAreN: false);
            for (int p0 = 0, panel = 0; p0 < depth; p0 += nr, panel++)
                Gemm.PackB(values, 0, keys, p0, Math.Min(nr, depth - p0), panel < _valueFull ? nr : _valueTail,
                    _valuesPacked + (long)p0 * _keysPadded);
            if (keys < _keysPadded) // keys past the end: zero rows of V (their probabilities are zero too)
                for (int p0 = 0, panel = 0; p0 < depth; p0 += nr, panel++)
                {
                    int width = panel < _valueFull ? nr : _valueTail;
                    new Span<float>(_valuesPacked + (long)p0 * _keysPadded + (long)keys * width, (_keysPadded - keys) * width).Clear();
                }
        }

        private int DepthPadded => _valueFull * TK.NR + _valueTail;

        public void Attend(float* qRows, float* outRows, int q0, int rows, bool causal)
        {
            int mr = TK.MR, nr = TK.NR, qb = QueryBlock, vw = Vector<float>.Count;
            float scale = 1f / MathF.Sqrt(_depth);
            // Qᵀ as the B operand: B[d, query] = Q[query, d], panels of NR queries per depth chunk, pre-scaled by 1/√d.
            var queryMatrix = new GemmB((byte*)qRows, DType.F32, _stride, rowsAreN: true);
            for (int c = 0; c < _depthChunks; c++)
            {
                int d0 = c * MaxDepthChunk, dc = Math.Min(MaxDepthChunk, _depth - d0);
                for (int r0 = 0; r0 < qb; r0 += nr)
                    Gemm.PackB(queryMatrix, d0, dc, r0, Math.Clamp(rows - r0, 0, nr), nr, _queryPacked + (long)d0 * qb + (long)r0 * dc);
            }
            ScaleInPlace(_queryPacked, (long)_depth * qb, scale);

            new Span<float>(_out, qb * DepthPadded).Clear();
            new Span<float>(_rowMax, qb).Fill(float.NegativeInfinity);
            new Span<float>(_rowSum, qb).Clear();

            int keyLimit = causal ? Math.Min(_keys, q0 + rows) : _keys;
            for (int j0 = 0; j0 < keyLimit; j0 += KeyBlock)
            {
                int kb = Math.Min(KeyBlock, keyLimit - j0), kbPadded = (kb + mr - 1) / mr * mr;
                // Sᵀ[key, query] for this key block, over the depth chunks.
                new Span<float>(_scores, kbPadded * qb).Clear();
                for (int c = 0; c < _depthChunks; c++)
                {
                    int d0 = c * MaxDepthChunk, dc = Math.Min(MaxDepthChunk, _depth - d0);
                    float* keyBase = _keysPacked + (long)d0 * _keysPadded;
                    for (int jr = 0; jr < kbPadded; jr += mr)
                        for (int r0 = 0; r0 < qb; r0 += nr)
                            TK.Wide(dc, keyBase + (long)(j0 + jr) * dc, _queryPacked + (long)d0 * qb + (long)r0 * dc, _scores + (long)jr * qb + r0, qb);
                }
                if (causal) MaskFuture(j0, kb, q0, rows);
                Softmax(kb, qb, vw);
                // O += P·V: P's MR-query panels are rows of Pᵀ copied as they are.
                for (int r0 = 0; r0 < qb; r0 += mr)
                {
                    float* panel = _probs;
                    for (int j = 0; j < kb; j++)
                        new ReadOnlySpan<float>(_scores + (long)j * qb + r0, mr).CopyTo(new Span<float>(panel + (long)j * mr, mr));
                    for (int p0 = 0, index = 0; p0 < _depth; p0 += nr, index++)
                    {
                        int width = index < _valueFull ? nr : _valueTail;
                        float* valuePanel = _valuesPacked + (long)p0 * _keysPadded + (long)j0 * width;
                        float* o = _out + (long)r0 * DepthPadded + p0;
                        if (width == nr) TK.Wide(kb, panel, valuePanel, o, DepthPadded);
                        else TK.Half(kb, panel, valuePanel, o, DepthPadded);
                    }
                }
            }

            for (int r = 0; r < rows; r++)
            {
                float inverse = _rowSum[r] > 0 ? 1f / _rowSum[r] : 0f;
                float* src = _out + (long)r * DepthPadded, dst = outRows + (long)r * _stride;
                for (int d = 0; d < _depth; d++) dst[d] = src[d] * inverse;
            }
        }

        /// <summary>Causal attention (CLIP): query i sees keys j ≤ i.</summary>
        private void MaskFuture(int j0, int kb, int q0, int rows)
        {
            for (int j = 0; j < kb; j++)
                for (int r = 0; r < rows; r++)
                    if (j0 + j > q0 + r) _scores[(long)j * QueryBlock + r] = float.NegativeInfinity;
        }

        /// <summary>
        /// Folds a key block of Sᵀ into the running softmax, per query column: new maxima, the rescale of each
        /// query's sum and output row, and Sᵀ replaced by P = exp(S − max) in place.
        /// </summary>
        private void Softmax(int kb, int qb, int vw)
        {
            for (int r = 0; r < qb; r += vw)
            {
                var max = Vector.Load(_rowMax + r);
                var blockMax = new Vector<float>(float.NegativeInfinity);
                for (int j = 0; j < kb; j++) blockMax = Vector.Max(blockMax, Vector.Load(_scores + (long)j * qb + r));
                var newMax = Vector.Max(max, blockMax);
                // Queries with nothing to attend to yet (all masked) keep −∞; subtracting from them would give NaN.
                var safeMax = Vector.ConditionalSelect(Vector.Equals(newMax, new Vector<float>(float.NegativeInfinity)), Vector<float>.Zero, newMax);
                var correction = Vector.Exp(max - safeMax);
                var sum = Vector<float>.Zero;
                for (int j = 0; j < kb; j++)
                {
                    float* row = _scores + (long)j * qb + r;
                    var e = Vector.Exp(Vector.Load(row) - safeMax);
                    e.Store(row);
                    sum += e;
                }
                (Vector.Load(_rowSum + r) * correction + sum).Store(_rowSum + r);
                newMax.Store(_rowMax + r);
                for (int i = 0; i < vw; i++)
                {
                    float f = correction[i];
                    if (f == 1f) continue;
                    float* o = _out + (long)(r + i) * DepthPadded;
                    for (int d = 0; d < DepthPadded; d++) o[d] *= f;
                }
            }
        }

        private static void ScaleInPlace(float* x, long n, float scale)
        {
            long i = 0, w = Vector<float>.Count;
            var s = new Vector<float>(scale);
            for (; i <= n - w; i += w) (Vector.Load(x + i) * s).Store(x + i);
            for (; i < n; i++) x[i] *= scale;
        }

        public void Dispose() => _memory.Release();
    }
}
