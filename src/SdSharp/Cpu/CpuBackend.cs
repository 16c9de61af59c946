using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Cpu;

/// <summary>
/// The CPU backend: fp32 activations, multithreaded and vectorised kernels (AVX-512, AVX2 or portable SIMD).
/// Linear weights are used in place from the model file in their stored dtype (f16/bf16 are converted while
/// the GEMM packs them); convolution weights are copied once into OHWI.
/// </summary>
public sealed unsafe class CpuBackend : IBackend
{
    private readonly CpuMemoryPool _pool;
    private readonly CpuParallel _parallel;

    /// <param name="threads">Worker threads; 0 means one per processor (or SDSHARP_THREADS when set).</param>
    public CpuBackend(int threads = 0)
    {
        if (threads <= 0 && !int.TryParse(Environment.GetEnvironmentVariable("SDSHARP_THREADS"), out threads)) threads = 0;
        _parallel = new CpuParallel(threads > 0 ? threads : Environment.ProcessorCount);
        _pool = new CpuMemoryPool(maxPooledBytes: 4L << 30);
    }

    public string Name => $"cpu ({_parallel.Threads} threads, {SimdName})";
    public DType ComputeType => DType.F32;
    public int Threads => _parallel.Threads;

    /// <summary>The CPU computes in fp32 whatever is asked: a sibling is another CPU backend with as many threads.</summary>
    public IBackend CreateSibling(DType computeType) => new CpuBackend(_parallel.Threads);

    private static string SimdName =>
        Avx512Kernel.IsSupported ? "AVX-512" : Avx2Kernel.IsSupported ? "AVX2" : $"{System.Numerics.Vector<float>.Count * 32}-bit SIMD";

    internal CpuParallel Parallel => _parallel;
    internal CpuMemoryPool Pool => _pool;

    // ---- memory ----

    private Tensor Allocate(Shape shape, DType dtype = DType.F32) =>
        new(this, _pool.Allocate(shape.ElementCount * dtype.Size()), 0, shape, dtype);

    internal static byte* Address(Tensor t) => ((CpuStorage)t.Storage).Pointer + t.OffsetBytes;

    private float* F32(Tensor t, string role)
    {
        if (t.Backend != this) throw new ArgumentException($"{role} lives on {t.Backend.Name}, not on {Name}.");
        if (t.DType != DType.F32) throw new ArgumentException($"{role} must be F32 on the CPU, got {t.DType}.");
        ObjectDisposedException.ThrowIf(t.IsDisposed, t);
        return (float*)Address(t);
    }

    public Tensor Full(Shape shape, float value)
    {
        var t = Allocate(shape);
        new Span<float>(Address(t), checked((int)shape.ElementCount)).Fill(value);
        return t;
    }

    public Tensor FromHost(ReadOnlySpan<float> data, Shape shape)
    {
        if (data.Length != shape.ElementCount) throw new ArgumentException($"{data.Length} values for shape {shape}.");
        var t = Allocate(shape);
        data.CopyTo(new Span<float>(Address(t), data.Length));
        return t;
    }

    public Tensor Scalars(ReadOnlySpan<float> values) => FromHost(values, new Shape(values.Length));

    public Tensor LoadWeight(TensorEntry entry)
    {
        var shape = new Shape(entry.Shape.Select(d => checked((int)d)).ToArray());
        if (shape.Rank == 4) return LoadConvWeight(entry, shape);
        DType? stored = entry.Type switch
        {
            ElementType.F32 => DType.F32,
            ElementType.F16 => DType.F16,
            ElementType.BF16 => DType.BF16,
            _ => null,
        };
        // Matrices are used in place (the GEMM converts 16-bit types while packing); vectors, which feed
        // elementwise ops, and other element types become F32 copies.
        if (shape.Rank == 2 && stored is DType dtype)
            return new Tensor(this, new CpuStorage(entry.Pointer, entry.ByteLength, pool: null), 0, shape, dtype);
        var t = Allocate(shape);
        entry.CopyToFloat32(new Span<float>(Address(t), checked((int)shape.ElementCount)));
        return t;
    }

    /// <summary>[O, I, kh, kw] from the file → [O, kh, kw, I], keeping a 16-bit file type (one copy, same size).</summary>
    private Tensor LoadConvWeight(TensorEntry entry, Shape fileShape)
    {
        int o = fileShape[0], i = fileShape[1], kh = fileShape[2], kw = fileShape[3];
        var dtype = entry.Type is ElementType.F16 ? DType.F16 : entry.Type is ElementType.BF16 ? DType.BF16 : DType.F32;
        var t = Allocate(new Shape(o, kh, kw, i), dtype);
        byte* dst = Address(t);
        if (dtype == DType.F32 && entry.Type != ElementType.F32)
        {
            var converted = entry.ToFloat32();
            fixed (float* src = converted) PermuteOihw((byte*)src, dst, o, i, kh * kw, sizeof(float));
        }
        else
        {
            PermuteOihw(entry.Pointer, dst, o, i, kh * kw, dtype.Size());
        }
        return t;
    }

    /// <summary>[O, I, taps] → [O, taps, I] for 2- or 4-byte elements, one output channel per task.</summary>
    private void PermuteOihw(byte* src, byte* dst, int o, int i, int taps, int size) =>
        _parallel.ForRanges(o, 16, (first, last) =>
        {
            for (long oc = first; oc < last; oc++) WeightLayout.OihwToOhwi(src, dst, oc, i, taps, size);
        });

    public void CopyToHost(Tensor tensor, Span<float> destination)
    {
        if (destination.Length != tensor.ElementCount)
            throw new ArgumentException($"Destination holds {destination.Length} values, tensor {tensor.Shape} has {tensor.ElementCount}.");
        byte* src = Address(tensor);
        int n = destination.Length;
        switch (tensor.DType)
        {
            case DType.F32: new ReadOnlySpan<float>(src, n).CopyTo(destination); break;
            case DType.F16: NumericConversions.HalfToSingle(new ReadOnlySpan<Half>(src, n), destination); break;
            default: NumericConversions.BFloat16ToSingle(new ReadOnlySpan<ushort>(src, n), destination); break;
        }
    }

    public void Synchronize() { }

    // ---- matrix products ----

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null, Tensor? residual = null)
    {
        var y = Allocate(OpShapes.Linear(x, weight, bias, residual));
        int inFeatures = x.Shape.Last, outFeatures = weight.Shape[0];
        int rows = checked((int)x.Shape.Rows);
        InitializeOutput(y, rows, outFeatures, bias, residual);
        Gemm.Multiply(_parallel, _pool, rows, outFeatures, inFeatures, new DenseA(F32(x, "Linear input"), inFeatures),
            WeightOperand(weight), (float*)Address(y), outFeatures);
        return y;
    }

    public Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions options, Tensor? residual = null)
    {
        var y = Allocate(OpShapes.Conv2d(x, weight, bias, options, residual));
        int batch = x.Shape[0], h = x.Shape[1], w = x.Shape[2], cin = x.Shape[3];
        int cout = weight.Shape[0], kh = weight.Shape[1], kw = weight.Shape[2], oh = y.Shape[1], ow = y.Shape[2];
        int rows = batch * oh * ow, depth = kh * kw * cin;
        InitializeOutput(y, rows, cout, bias, residual);
        float* input = F32(x, "Conv2d input");
        bool pointwise = kh == 1 && kw == 1 && options.Stride == 1 && options is { PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0 };
        if (pointwise)
            Gemm.Multiply(_parallel, _pool, rows, cout, depth, new DenseA(input, cin), WeightOperand(weight), (float*)Address(y), cout);
        else
            Gemm.Multiply(_parallel, _pool, rows, cout, depth, new ConvA(input, h, w, cin, oh, ow, kw, options),
                WeightOperand(weight), (float*)Address(y), cout);
        return y;
    }

    private GemmB WeightOperand(Tensor weight)
    {
        if (weight.Backend != this) throw new ArgumentException($"Weight lives on {weight.Backend.Name}, not on {Name}.");
        int k = checked((int)(weight.ElementCount / weight.Shape[0]));
        return new GemmB(Address(weight), weight.DType, k, rowsAreN: true);
    }

    /// <summary>Fills the output with bias and residual: the GEMM then accumulates onto it (a fused epilogue).</summary>
    private void InitializeOutput(Tensor y, int rows, int columns, Tensor? bias, Tensor? residual)
    {
        float* dst = (float*)Address(y);
        float* b = bias == null ? null : F32(bias, "bias");
        float* r = residual == null ? null : F32(residual, "residual");
        long rowBytes = (long)columns * sizeof(float);
        _parallel.ForRanges(rows, 64, (start, end) =>
        {
            for (long i = start; i < end; i++)
            {
                float* row = dst + i * columns;
                if (r != null && b != null) ElementwiseKernels.Zip<AddOp>(r + i * columns, b, row, columns);
                else if (r != null) Buffer.MemoryCopy(r + i * columns, row, rowBytes, rowBytes);
                else if (b != null) Buffer.MemoryCopy(b, row, rowBytes, rowBytes);
                else new Span<float>(row, columns).Clear();
            }
        });
    }

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal = false)
    {
        var (shape, depth) = OpShapes.Attention(q, k, v, heads);
        var y = Allocate(shape);
        CpuAttention.Run(_parallel, _pool, F32(q, "q"), F32(k, "k"), F32(v, "v"), (float*)Address(y),
            q.Shape[0], q.Shape[1], k.Shape[1], heads, depth, causal);
        return y;
    }

    // ---- normalisation ----

    public Tensor GroupNorm(Tensor x, Tensor weight, Tensor bias, int groups, float eps, bool silu = false)
    {
        int spatial = OpShapes.GroupNorm(x, weight, bias, groups);
        int channels = x.Shape.Last, batch = x.Shape[0];
        var y = Allocate(x.Shape);
        NormKernels.GroupNorm(_parallel, F32(x, "GroupNorm input"), (float*)Address(y), batch, spatial, channels, groups,
            F32(weight, "GroupNorm weight"), F32(bias, "GroupNorm bias"), eps, silu);
        return y;
    }

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor? bias, float eps)
    {
        OpShapes.LayerNorm(x, weight, bias);
        int channels = x.Shape.Last;
        var y = Allocate(x.Shape);
        NormKernels.LayerNorm(_parallel, F32(x, "LayerNorm input"), (float*)Address(y), x.Shape.Rows, channels,
            F32(weight, "LayerNorm weight"), bias == null ? null : F32(bias, "LayerNorm bias"), eps);
        return y;
    }

    // ---- elementwise ----

    public Tensor Activate(Tensor x, Activation function)
    {
        var y = Allocate(x.Shape);
        float* src = F32(x, "activation input"), dst = (float*)Address(y);
        _parallel.ForRanges(x.ElementCount, 1 << 15, (s, e) => ElementwiseKernels.Activate(function, src + s, dst + s, e - s));
        return y;
    }

    public Tensor Geglu(Tensor x)
    {
        var y = Allocate(OpShapes.Geglu(x));
        int half = y.Shape.Last;
        float* src = F32(x, "GEGLU input"), dst = (float*)Address(y);
        _parallel.ForRanges(x.Shape.Rows, 16, (s, e) =>
        {
            for (long r = s; r < e; r++) ElementwiseKernels.GegluRow(src + r * 2 * half, dst + r * half, half);
        });
        return y;
    }

    public Tensor Binary(Tensor a, BinaryOp op, Tensor b)
    {
        var broadcast = Broadcast.Plan(a.Shape, b.Shape);
        var y = Allocate(a.Shape);
        float* pa = F32(a, "left operand"), pb = F32(b, "right operand"), py = (float*)Address(y);
        if (broadcast.SameShape)
        {
            _parallel.ForRanges(a.ElementCount, 1 << 15, (s, e) => ElementwiseKernels.Binary(op, pa + s, pb + s, py + s, e - s, false));
            return y;
        }
        int last = a.Shape.Last;
        _parallel.ForRanges(a.Shape.Rows, Math.Max(1, 8192 / Math.Max(1, last)), (s, e) =>
        {
            for (long r = s; r < e; r++)
                ElementwiseKernels.Binary(op, pa + r * last, pb + broadcast.RowOffset(r), py + r * last, last, broadcast.ScalarRows);
        });
        return y;
    }

    public Tensor Axpby(float alpha, Tensor x, float beta, Tensor y)
    {
        OpShapes.SameShape(x, y, "Axpby");
        var result = Allocate(x.Shape);
        float* px = F32(x, "x"), py = F32(y, "y"), pr = (float*)Address(result);
        _parallel.ForRanges(x.ElementCount, 1 << 15, (s, e) => ElementwiseKernels.Axpby(alpha, px + s, beta, py + s, pr + s, e - s));
        return result;
    }

    public Tensor Affine(Tensor x, float scale, float shift = 0)
    {
        var y = Allocate(x.Shape);
        float* px = F32(x, "x"), py = (float*)Address(y);
        _parallel.ForRanges(x.ElementCount, 1 << 15, (s, e) => ElementwiseKernels.Affine(px + s, scale, shift, py + s, e - s));
        return y;
    }

    public Tensor Clamp(Tensor x, float min, float max)
    {
        if (!(min <= max)) throw new ArgumentException($"Clamp to [{min}, {max}].");
        var y = Allocate(x.Shape);
        float* px = F32(x, "x"), py = (float*)Address(y);
        _parallel.ForRanges(x.ElementCount, 1 << 15, (s, e) => ElementwiseKernels.Clamp(px + s, min, max, py + s, e - s));
        return y;
    }

    // ---- layout ----

    public Tensor Concat(IReadOnlyList<Tensor> parts, int axis)
    {
        (var shape, axis) = OpShapes.Concat(parts, axis);
        var y = Allocate(shape);
        long outer = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        var pointers = new float*[parts.Count];
        var inner = new long[parts.Count];
        for (int i = 0; i < parts.Count; i++)
        {
            pointers[i] = F32(parts[i], "concat part");
            inner[i] = parts[i].ElementCount / Math.Max(1, outer);
        }
        LayoutKernels.Concat(pointers, inner, (float*)Address(y), outer);
        return y;
    }

    public Tensor Slice(Tensor x, int axis, int start, int count)
    {
        (var shape, axis) = OpShapes.Slice(x, axis, start, count);
        var y = Allocate(shape);
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= x.Shape[d];
        for (int d = axis + 1; d < x.Shape.Rank; d++) inner *= x.Shape[d];
        float* src = F32(x, "slice input"), dst = (float*)Address(y);
        long bytes = count * inner * sizeof(float);
        for (long o = 0; o < outer; o++)
            Buffer.MemoryCopy(src + (o * x.Shape[axis] + start) * inner, dst + o * count * inner, bytes, bytes);
        return y;
    }

    public Tensor UpsampleNearest2x(Tensor x)
    {
        var s = x.Shape;
        var y = Allocate(OpShapes.Resize(x, s.Rank == 4 ? s[1] * 2 : 1, s.Rank == 4 ? s[2] * 2 : 1, "UpsampleNearest2x"));
        LayoutKernels.UpsampleNearest2x(_parallel, F32(x, "upsample input"), (float*)Address(y), s[0], s[1], s[2], s[3]);
        return y;
    }

    public Tensor Resize(Tensor x, int height, int width, ResizeMode mode)
    {
        var y = Allocate(OpShapes.Resize(x, height, width, "Resize"));
        var s = x.Shape;
        LayoutKernels.Resize(_parallel, F32(x, "resize input"), (float*)Address(y), s[0], s[1], s[2], s[3], height, width,
            mode == ResizeMode.Bilinear);
        return y;
    }

    public Tensor Embedding(Tensor table, ReadOnlySpan<int> ids)
    {
        var y = Allocate(OpShapes.Embedding(table, ids));
        int dim = table.Shape[1];
        byte* src = Address(table);
        float* dst = (float*)Address(y);
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            var row = new Span<float>(dst + (long)i * dim, dim);
            long offset = (long)id * dim;
            switch (table.DType)
            {
                case DType.F32: new ReadOnlySpan<float>((float*)src + offset, dim).CopyTo(row); break;
                case DType.F16: NumericConversions.HalfToSingle(new ReadOnlySpan<Half>((Half*)src + offset, dim), row); break;
                default: NumericConversions.BFloat16ToSingle(new ReadOnlySpan<ushort>((ushort*)src + offset, dim), row); break;
            }
        }
        return y;
    }

    public Tensor TimestepEmbedding(Tensor timesteps, int dim, bool flipSinToCos, float downscaleFreqShift)
    {
        int count = checked((int)timesteps.ElementCount);
        var y = Allocate(new Shape(count, dim));
        LayoutKernels.TimestepEmbedding(F32(timesteps, "timesteps"), (float*)Address(y), count, dim, flipSinToCos, downscaleFreqShift);
        return y;
    }

    public Tensor Convert(Tensor x, DType dtype)
    {
        var y = Allocate(x.Shape, dtype);
        int n = checked((int)x.ElementCount);
        var values = x.DType == DType.F32 ? new ReadOnlySpan<float>(Address(x), n) : x.ToArray();
        NumericConversions.FromSingle(values, dtype, new Span<byte>(Address(y), n * dtype.Size()));
        return y;
    }

    public void Dispose() => _pool.Dispose();
}
