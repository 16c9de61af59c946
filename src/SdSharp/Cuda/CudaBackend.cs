using System.Runtime.InteropServices;
using SdSharp.Cpu;
using SdSharp.Cuda.Native;
using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Cuda;

/// <summary>Graphs captured and replayed by a backend's networks; the message of the last capture that failed.</summary>
public sealed class GraphCounts
{
    public int Captured { get; internal set; }
    public long Replays { get; internal set; }
    public string? Failure { get; internal set; }

    public override string ToString() => $"CUDA graphs: {Captured} captured, {Replays} replays" + (Failure == null ? "" : $", a capture failed: {Failure}");
}

/// <summary>
/// The CUDA backend: activations and weights in fp16 (default) or bf16 (fp32 for checks), products on cuBLASLt
/// with fp32 accumulation and bias/residual epilogues, everything else in SdSharp's own NVRTC-compiled kernels.
/// All work goes on one stream; only transfers to the host wait for the device. Driven by one thread at a time.
/// </summary>
public sealed unsafe class CudaBackend : IBackend
{
    private const long WorkspaceBytes = 32L << 20; // what NVIDIA advises for cuBLAS on Hopper; cuDNN algorithms are held to it too
    private static readonly string[] KernelNames =
    [
        "fill", "activate", "geglu", "axpby", "affine", "clamp", "binary", "copy_blocks", "upsample_nearest2x", "resize", "embedding",
        "timestep_embedding", "im2col", "groupnorm_partial", "groupnorm_finalize", "groupnorm_apply", "layernorm", "softmax_rows",
    ];

    private readonly CudaDevice _device;
    private readonly bool _ownsDevice;
    private readonly Dictionary<string, nint> _k;
    /// <summary>Fused attention kernels by padded head size (16-bit compute types only), compiled when first needed.</summary>
    private readonly Dictionary<int, nint> _flash = [];
    private readonly KernelArgs _args = new();
    private readonly nint _lt;
    private readonly ulong _workspace;
    private readonly Dictionary<MatmulKey, Matmul> _matmuls = new();
    private byte* _staging;
    private long _stagingBytes;

    private CudaBackend(CudaDevice device, DType computeType, bool ownsDevice)
    {
        _device = device;
        _ownsDevice = ownsDevice;
        ComputeType = computeType;
        _k = device.LoadKernels("elementwise.cu", [KernelType], KernelNames);
        nint lt;
        CublasLt.Check(device.Lt.cublasLtCreate(&lt), "cublasLtCreate");
        _lt = lt;
        _workspace = device.Allocate(WorkspaceBytes);
    }

    /// <summary>Opens a GPU; throws <see cref="CudaUnavailableException"/> (one line, says why) when there is none.</summary>
    public static CudaBackend Create(DType computeType = DType.F16, int device = 0)
    {
        var cuda = new CudaDevice(device);
        try
        {
            return new CudaBackend(cuda, computeType, ownsDevice: true);
        }
        catch
        {
            cuda.Dispose();
            throw;
        }
    }

    /// <summary>The kernels' element type, as their sources number it (SD_T).</summary>
    private string KernelType => $"SD_T={ComputeType switch { DType.F16 => 0, DType.BF16 => 1, _ => 2 }}";

    public string Name => $"cuda ({_device.Name}, sm_{_device.ComputeCapability}, {ComputeType.ToString().ToLowerInvariant()})";
    public DType ComputeType { get; }

    /// <summary>Same GPU, context and stream (so its work is ordered with this one's), its own kernels and cuBLASLt handle.</summary>
    public IBackend CreateSibling(DType computeType)
    {
        _device.MakeCurrent();
        return new CudaBackend(_device, computeType, ownsDevice: false);
    }
    public long PeakMemoryBytes => _device.PeakReservedBytes;
    /// <summary>Most bytes ever in live tensors since <see cref="ResetPeakMemory"/>.</summary>
    public long PeakInUseBytes => _device.PeakInUseBytes;
    public void ResetPeakMemory() => _device.ResetPeak();

    // ---- memory and transfers ----

    private Tensor Allocate(Shape shape, DType? dtype = null, bool weight = false)
    {
        var type = dtype ?? ComputeType;
        long bytes = Math.Max(1, shape.ElementCount * type.Size());
        ulong pointer = _device.Allocate(bytes, weight, out var arena);
        return new Tensor(this, new CudaStorage(_device, pointer, bytes, weight, arena), 0, shape, type);
    }

    /// <summary>A new tensor holding a copy of <paramref name="source"/>'s elements (any dtype), or just its shape and dtype.</summary>
    internal Tensor Copy(Tensor source, bool contents = true)
    {
        _device.MakeCurrent();
        var y = Allocate(source.Shape, source.DType);
        if (contents) CopyInto(y, source);
        return y;
    }

    /// <summary>Copies the elements of <paramref name="source"/> into <paramref name="destination"/> (same shape and dtype), in stream order.</summary>
    internal void CopyInto(Tensor destination, Tensor source)
    {
        if (!destination.Shape.Equals(source.Shape) || destination.DType != source.DType)
            throw new ArgumentException($"copy of a {source.DType} {source.Shape} into a {destination.DType} {destination.Shape}");
        if (source.Backend is not CudaBackend) throw new ArgumentException($"a tensor on {source.Backend.Name} is not on a GPU");
        _device.Cu.Check(_device.Cu.cuMemcpyDtoDAsync(Ptr(destination), Ptr(source), (nuint)(source.ElementCount * source.DType.Size()), _device.Stream), "cuMemcpyDtoDAsync");
    }

    /// <summary>
    /// Whether networks replay their steps as CUDA graphs (<see cref="CreateReplayCache"/>); on unless the
    /// environment sets SDSHARP_CUDA_GRAPHS=0. Read at every call, so it can be switched to compare.
    /// </summary>
    public bool UseGraphs { get; set; } = Environment.GetEnvironmentVariable("SDSHARP_CUDA_GRAPHS") != "0";

    public IReplayCache CreateReplayCache() => new CudaGraphs(this, _device);

    /// <summary>What the networks' graphs did so far: for benchmarks and checks, which must know a replay happened.</summary>
    public GraphCounts GraphStatistics { get; } = new();

    private static ulong Ptr(Tensor t)
    {
        ObjectDisposedException.ThrowIf(t.IsDisposed, t);
        return ((CudaStorage)t.Storage).Pointer + (ulong)t.OffsetBytes;
    }

    private ulong P(Tensor t, string role)
    {
        if (t.Backend != this) throw new ArgumentException($"{role} lives on {t.Backend.Name}, not on {Name}.");
        if (t.DType != ComputeType) throw new ArgumentException($"{role} is {t.DType}; this backend computes in {ComputeType}.");
        return Ptr(t);
    }

    /// <summary>Pinned host memory for transfers, grown on demand.</summary>
    private byte* Staging(long bytes)
    {
        if (bytes <= _stagingBytes) return _staging;
        _device.Synchronize();
        if (_staging != null) _device.Cu.cuMemFreeHost(_staging);
        void* p;
        _device.Cu.Check(_device.Cu.cuMemAllocHost(&p, (nuint)bytes), "cuMemAllocHost");
        _staging = (byte*)p;
        _stagingBytes = bytes;
        return _staging;
    }

    /// <summary>Copies host bytes to the device and waits (the staging buffer is reused by the next upload).</summary>
    private void Upload(ulong dst, ReadOnlySpan<byte> bytes)
    {
        const int chunk = 64 << 20;
        for (int offset = 0; offset < bytes.Length; offset += chunk)
        {
            int n = Math.Min(chunk, bytes.Length - offset);
            byte* staging = Staging(Math.Min(chunk, bytes.Length));
            bytes.Slice(offset, n).CopyTo(new Span<byte>(staging, n));
            _device.Cu.Check(_device.Cu.cuMemcpyHtoDAsync(dst + (ulong)offset, staging, (nuint)n, _device.Stream), "cuMemcpyHtoDAsync");
            _device.Synchronize();
        }
    }

    /// <summary>fp32 values → bytes of the compute type.</summary>
    private byte[] Encode(ReadOnlySpan<float> values, DType type)
    {
        var bytes = new byte[values.Length * type.Size()];
        NumericConversions.FromSingle(values, type, bytes);
        return bytes;
    }

    public Tensor Full(Shape shape, float value)
    {
        _device.MakeCurrent();
        var t = Allocate(shape);
        _device.Launch(_k["fill"], shape.ElementCount, _args.Reset().Add(Ptr(t)).Add(value).Add(shape.ElementCount));
        return t;
    }

    public Tensor FromHost(ReadOnlySpan<float> data, Shape shape)
    {
        if (data.Length != shape.ElementCount) throw new ArgumentException($"{data.Length} values for shape {shape}.");
        _device.MakeCurrent();
        var t = Allocate(shape);
        Upload(Ptr(t), Encode(data, ComputeType));
        return t;
    }

    public Tensor Scalars(ReadOnlySpan<float> values)
    {
        _device.MakeCurrent();
        var t = Allocate(new Shape(values.Length), DType.F32);
        // A denoiser call's timesteps are one value: written by the stream itself, since an upload waits for the GPU.
        bool uniform = values.Length > 0 && values.IndexOfAnyExcept(values[0]) < 0;
        if (uniform)
            _device.Cu.Check(_device.Cu.cuMemsetD32Async(Ptr(t), BitConverter.SingleToUInt32Bits(values[0]), (nuint)values.Length, _device.Stream), "cuMemsetD32Async");
        else
            Upload(Ptr(t), Encode(values, DType.F32));
        return t;
    }

    /// <summary>Weights in the compute type; 4-D convolution weights turned into OHWI on the host first.</summary>
    public Tensor LoadWeight(TensorEntry entry)
    {
        _device.MakeCurrent();
        var shape = new Shape(entry.Shape.Select(d => checked((int)d)).ToArray());
        bool sameType = (entry.Type == ElementType.F16 && ComputeType == DType.F16) ||
            (entry.Type == ElementType.BF16 && ComputeType == DType.BF16) || (entry.Type == ElementType.F32 && ComputeType == DType.F32);
        if (shape.Rank != 4)
        {
            var t = Allocate(shape, weight: true);
            if (sameType) UploadEntry(Ptr(t), entry);
            else Upload(Ptr(t), Encode(entry.ToFloat32(), ComputeType));
            return t;
        }
        // Converted (when the file's type differs) then permuted in the compute type, one output channel per task.
        byte[]? converted = sameType ? null : Encode(entry.ToFloat32(), ComputeType);
        int o = shape[0], i = shape[1], taps = shape[2] * shape[3], size = ComputeType.Size();
        var bytes = new byte[shape.ElementCount * size];
        fixed (byte* dst = bytes, conv = converted)
        {
            byte* from = conv != null ? conv : entry.Pointer, to = dst;
            Parallel.For(0, o, oc => WeightLayout.OihwToOhwi(from, to, oc, i, taps, size));
        }
        var tensor = Allocate(new Shape(o, shape[2], shape[3], i), weight: true);
        Upload(Ptr(tensor), bytes);
        return tensor;
    }

    private void UploadEntry(ulong dst, TensorEntry entry)
    {
        const long chunk = 64L << 20;
        byte* src = entry.Pointer;
        for (long offset = 0; offset < entry.ByteLength; offset += chunk)
        {
            int n = (int)Math.Min(chunk, entry.ByteLength - offset);
            Upload(dst + (ulong)offset, new ReadOnlySpan<byte>(src + offset, n));
        }
    }

    public void CopyToHost(Tensor tensor, Span<float> destination)
    {
        if (destination.Length != tensor.ElementCount) throw new ArgumentException($"Destination holds {destination.Length} values, tensor {tensor.Shape} has {tensor.ElementCount}.");
        _device.MakeCurrent();
        long bytes = tensor.ElementCount * tensor.DType.Size();
        byte* staging = Staging(Math.Max(1, bytes));
        _device.Cu.Check(_device.Cu.cuMemcpyDtoHAsync(staging, Ptr(tensor), (nuint)bytes, _device.Stream), "cuMemcpyDtoHAsync");
        _device.Synchronize();
        int n = destination.Length;
        switch (tensor.DType)
        {
            case DType.F32: new ReadOnlySpan<float>(staging, n).CopyTo(destination); break;
            case DType.F16: NumericConversions.HalfToSingle(new ReadOnlySpan<Half>(staging, n), destination); break;
            default: NumericConversions.BFloat16ToSingle(new ReadOnlySpan<ushort>(staging, n), destination); break;
        }
    }

    public void Synchronize()
    {
        _device.MakeCurrent();
        _device.Synchronize();
    }

    // ---- matrix products (cuBLASLt, column-major: a row-major [r, c] matrix is a column-major c×r one) ----

    private int DataType => ComputeType switch { DType.F16 => CublasLt.DataF16, DType.BF16 => CublasLt.DataBF16, _ => CublasLt.DataF32 };

    private readonly record struct MatmulKey(int M, int N, int K, int Lda, int Ldb, int Ldc, int TransA, int TransB, bool Bias, int Batch,
        long StrideA, long StrideB, long StrideC, int OutType, bool Accumulate);

    /// <summary>A configured product (descriptors and the heuristic's algorithm), cached per shape.</summary>
    private sealed class Matmul
    {
        public nint Desc, A, B, C;
        public CublasLt.HeuristicResult Algo;
    }

    /// <summary>
    /// D = α·op(A)·op(B) (+ C when accumulating, + bias per row of D) in cuBLASLt's column-major terms, batched
    /// with strides. D and C share a layout; C may be another buffer (the residual).
    /// </summary>
    private void Gemm(int m, int n, int k, ulong a, int lda, int transA, ulong b, int ldb, int transB, ulong d, int ldd,
        ulong c = 0, ulong bias = 0, float alpha = 1, int batch = 1, long strideA = 0, long strideB = 0, long strideD = 0, int outType = -1)
    {
        int type = DataType;
        int dType = outType < 0 ? type : outType;
        var key = new MatmulKey(m, n, k, lda, ldb, ldd, transA, transB, bias != 0, batch, strideA, strideB, strideD, dType, c != 0);
        if (!_matmuls.TryGetValue(key, out var mm)) _matmuls[key] = mm = CreateMatmul(key, type, dType);
        var lt = _device.Lt;
        if (bias != 0) CublasLt.Check(lt.cublasLtMatmulDescSetAttribute(mm.Desc, CublasLt.DescBiasPointer, &bias, (nuint)sizeof(ulong)), "set bias");
        float beta = c != 0 ? 1f : 0f;
        var algo = mm.Algo;
        CublasLt.Check(lt.cublasLtMatmul(_lt, mm.Desc, &alpha, a, mm.A, b, mm.B, &beta, c != 0 ? c : d, mm.C, d, mm.C,
            &algo, _workspace, (nuint)WorkspaceBytes, _device.Stream), "cublasLtMatmul");
    }

    private Matmul CreateMatmul(MatmulKey key, int type, int dType)
    {
        var lt = _device.Lt;
        var mm = new Matmul();
        nint desc;
        CublasLt.Check(lt.cublasLtMatmulDescCreate(&desc, CublasLt.ComputeF32, CublasLt.DataF32), "cublasLtMatmulDescCreate");
        int ta = key.TransA, tb = key.TransB, epilogue = key.Bias ? CublasLt.EpilogueBias : CublasLt.EpilogueDefault;
        CublasLt.Check(lt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescTransA, &ta, sizeof(int)), "transa");
        CublasLt.Check(lt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescTransB, &tb, sizeof(int)), "transb");
        CublasLt.Check(lt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescEpilogue, &epilogue, sizeof(int)), "epilogue");
        if (key.Bias) CublasLt.Check(lt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescBiasDataType, &type, sizeof(int)), "bias type");
        mm.Desc = desc;
        mm.A = Layout(type, ta == CublasLt.OpN ? key.M : key.K, ta == CublasLt.OpN ? key.K : key.M, key.Lda, key.Batch, key.StrideA);
        mm.B = Layout(type, tb == CublasLt.OpN ? key.K : key.N, tb == CublasLt.OpN ? key.N : key.K, key.Ldb, key.Batch, key.StrideB);
        mm.C = Layout(dType, key.M, key.N, key.Ldc, key.Batch, key.StrideC);
        nint pref;
        CublasLt.Check(lt.cublasLtMatmulPreferenceCreate(&pref), "preference");
        long workspace = WorkspaceBytes;
        CublasLt.Check(lt.cublasLtMatmulPreferenceSetAttribute(pref, CublasLt.PrefMaxWorkspaceBytes, &workspace, sizeof(long)), "workspace");
        CublasLt.HeuristicResult result;
        int found;
        // The bias pointer is a per-call attribute; the heuristic needs one set to pick an epilogue-capable algorithm.
        if (key.Bias)
        {
            ulong any = _workspace;
            lt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescBiasPointer, &any, (nuint)sizeof(ulong));
        }
        int status = lt.cublasLtMatmulAlgoGetHeuristic(_lt, desc, mm.A, mm.B, mm.C, mm.C, pref, 1, &result, &found);
        lt.cublasLtMatmulPreferenceDestroy(pref);
        if (status != 0 || found == 0)
            throw new CudaException($"cuBLASLt has no algorithm for {key} (status {status})");
        mm.Algo = result;
        return mm;
    }

    private nint Layout(int type, int rows, int cols, int ld, int batch, long stride)
    {
        var lt = _device.Lt;
        nint layout;
        CublasLt.Check(lt.cublasLtMatrixLayoutCreate(&layout, type, (ulong)rows, (ulong)cols, ld), "cublasLtMatrixLayoutCreate");
        if (batch > 1)
        {
            CublasLt.Check(lt.cublasLtMatrixLayoutSetAttribute(layout, CublasLt.LayoutBatchCount, &batch, sizeof(int)), "batch count");
            CublasLt.Check(lt.cublasLtMatrixLayoutSetAttribute(layout, CublasLt.LayoutStridedBatchOffset, &stride, sizeof(long)), "batch stride");
        }
        return layout;
    }

    /// <summary>Y[rows, n] = X[rows, k] · W[n, k]ᵀ (+ bias) (+ residual): in column-major terms Yᶜ = W·Xᶜ.</summary>
    private void LinearInto(ulong x, int rows, int k, ulong weight, int n, ulong y, ulong bias, ulong residual) =>
        Gemm(n, rows, k, weight, k, CublasLt.OpT, x, k, CublasLt.OpN, y, n, c: residual, bias: bias);

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null, Tensor? residual = null)
    {
        var shape = OpShapes.Linear(x, weight, bias, residual);
        int k = x.Shape.Last, n = weight.Shape[0], rows = checked((int)x.Shape.Rows);
        _device.MakeCurrent();
        var y = Allocate(shape);
        LinearInto(P(x, "Linear input"), rows, k, P(weight, "weight"), n, Ptr(y), bias == null ? 0 : P(bias, "bias"), residual == null ? 0 : P(residual, "residual"));
        return y;
    }

    public Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions options, Tensor? residual = null)
    {
        var shape = OpShapes.Conv2d(x, weight, bias, options, residual);
        // cuDNN's descriptors count elements in 32 bits.
        if (x.ElementCount >= int.MaxValue || shape.ElementCount >= int.MaxValue)
            throw new DeviceCapacityException($"Conv2d of {x.Shape} into {shape}: more than 2³¹ elements");
        int batch = x.Shape[0], h = x.Shape[1], w = x.Shape[2], cin = x.Shape[3];
        int cout = weight.Shape[0], kh = weight.Shape[1], kw = weight.Shape[2], oh = shape[1], ow = shape[2];
        _device.MakeCurrent();
        int rows = batch * oh * ow, depth = kh * kw * cin;
        ulong input = P(x, "Conv2d input");
        bool pointwise = kh == 1 && kw == 1 && options.Stride == 1 && options is { PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0 };
        // Temporaries are allocated before the result, so an op that runs out of memory leaves nothing behind.
        Tensor y;
        if (pointwise)
        {
            y = Allocate(shape);
            LinearInto(input, rows, depth, P(weight, "weight"), cout, Ptr(y), bias == null ? 0 : P(bias, "bias"), residual == null ? 0 : P(residual, "residual"));
            return y;
        }
        // cuDNN's implicit GEMM for 16-bit types and the paddings it can express; fp32 stays on cuBLASLt, exact (no TF32).
        bool symmetric = options.PadTop == options.PadBottom && options.PadLeft == options.PadRight && options.PaddingMode == PaddingMode.Zeros;
        if (_device.Dnn != null && ComputeType != DType.F32 && symmetric)
        {
            var conv = Convolution(new ConvKey(batch, h, w, cin, cout, kh, kw, options.Stride, options.PadTop, options.PadLeft, oh, ow));
            if (conv != null)
            {
                y = Allocate(shape);
                RunConvolution(conv, input, P(weight, "weight"), y, bias == null ? 0 : P(bias, "bias"), residual == null ? 0 : P(residual, "residual"));
                return y;
            }
        }
        using var columns = Allocate(new Shape(rows, depth));
        y = Allocate(shape);
        _device.Launch(_k["im2col"], (long)rows * depth, _args.Reset().Add(input).Add(Ptr(columns)).Add(batch).Add(h).Add(w).Add(cin).Add(oh).Add(ow)
            .Add(kh).Add(kw).Add(options.Stride).Add(options.PadTop).Add(options.PadLeft).Add(options.PaddingMode == PaddingMode.Circular ? 1 : 0));
        LinearInto(Ptr(columns), rows, depth, P(weight, "weight"), cout, Ptr(y), bias == null ? 0 : P(bias, "bias"), residual == null ? 0 : P(residual, "residual"));
        return y;
    }

    private readonly record struct ConvKey(int Batch, int H, int W, int Cin, int Cout, int Kh, int Kw, int Stride, int PadH, int PadW, int Oh, int Ow);

    /// <summary>cuDNN's descriptors for one convolution shape and the algorithm its heuristic ranks first.</summary>
    private sealed record ConvPlan(nint X, nint W, nint Conv, nint Y, nint Bias, int Algo);

    private readonly Dictionary<ConvKey, ConvPlan?> _convolutions = new();

    /// <summary>The plan for a shape (made once), or null when cuDNN offers no algorithm within the workspace.</summary>
    private ConvPlan? Convolution(ConvKey key)
    {
        if (_convolutions.TryGetValue(key, out var plan)) return plan;
        var dnn = _device.Dnn!;
        int type = ComputeType == DType.F16 ? Cudnn.DataHalf : Cudnn.DataBFloat16;
        nint x, w, conv, y, bias;
        Cudnn.Check(dnn.cudnnCreateTensorDescriptor(&x), "cudnnCreateTensorDescriptor");
        Cudnn.Check(dnn.cudnnSetTensor4dDescriptor(x, Cudnn.FormatNhwc, type, key.Batch, key.Cin, key.H, key.W), "input descriptor");
        Cudnn.Check(dnn.cudnnCreateFilterDescriptor(&w), "cudnnCreateFilterDescriptor");
        Cudnn.Check(dnn.cudnnSetFilter4dDescriptor(w, type, Cudnn.FormatNhwc, key.Cout, key.Cin, key.Kh, key.Kw), "filter descriptor");
        Cudnn.Check(dnn.cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");
        Cudnn.Check(dnn.cudnnSetConvolution2dDescriptor(conv, key.PadH, key.PadW, key.Stride, key.Stride, 1, 1, Cudnn.CrossCorrelation, Cudnn.DataFloat), "convolution descriptor");
        Cudnn.Check(dnn.cudnnSetConvolutionMathType(conv, Cudnn.TensorOpMath), "math type");
        Cudnn.Check(dnn.cudnnCreateTensorDescriptor(&y), "cudnnCreateTensorDescriptor");
        Cudnn.Check(dnn.cudnnSetTensor4dDescriptor(y, Cudnn.FormatNhwc, type, key.Batch, key.Cout, key.Oh, key.Ow), "output descriptor");
        Cudnn.Check(dnn.cudnnCreateTensorDescriptor(&bias), "cudnnCreateTensorDescriptor");
        Cudnn.Check(dnn.cudnnSetTensor4dDescriptor(bias, Cudnn.FormatNhwc, type, 1, key.Cout, 1, 1), "bias descriptor");
        var perf = stackalloc Cudnn.AlgoPerf[16];
        int found;
        Cudnn.Check(dnn.cudnnGetConvolutionForwardAlgorithm_v7(_device.DnnHandle, x, w, conv, y, 16, &found, perf), "cudnnGetConvolutionForwardAlgorithm_v7");
        plan = null;
        for (int i = 0; i < found && plan == null; i++)
            if (perf[i].Status == 0 && (long)perf[i].Memory <= WorkspaceBytes) plan = new ConvPlan(x, w, conv, y, bias, perf[i].Algo);
        if (plan == null) Destroy(new ConvPlan(x, w, conv, y, bias, -1));
        _convolutions[key] = plan;
        return plan;
    }

    private void Destroy(ConvPlan plan)
    {
        var dnn = _device.Dnn!;
        dnn.cudnnDestroyTensorDescriptor(plan.X);
        dnn.cudnnDestroyFilterDescriptor(plan.W);
        dnn.cudnnDestroyConvolutionDescriptor(plan.Conv);
        dnn.cudnnDestroyTensorDescriptor(plan.Y);
        dnn.cudnnDestroyTensorDescriptor(plan.Bias);
    }

    /// <summary>y = conv(x) (+ residual, copied in first and kept by β = 1) (+ bias per channel).</summary>
    private void RunConvolution(ConvPlan plan, ulong x, ulong weight, Tensor y, ulong bias, ulong residual)
    {
        var dnn = _device.Dnn!;
        float one = 1f, beta = residual != 0 ? 1f : 0f;
        if (residual != 0)
            _device.Cu.Check(_device.Cu.cuMemcpyDtoDAsync(Ptr(y), residual, (nuint)(y.ElementCount * ComputeType.Size()), _device.Stream), "cuMemcpyDtoDAsync");
        Cudnn.Check(dnn.cudnnConvolutionForward(_device.DnnHandle, &one, plan.X, x, plan.W, weight, plan.Conv, plan.Algo, _workspace, (nuint)WorkspaceBytes,
            &beta, plan.Y, Ptr(y)), "cudnnConvolutionForward");
        if (bias != 0) Cudnn.Check(dnn.cudnnAddTensor(_device.DnnHandle, &one, plan.Bias, bias, &one, plan.Y, Ptr(y)), "cudnnAddTensor");
    }

    /// <summary>The largest head size (padded to 16) with a fused kernel: SD's 40 (as 48), 64, 80 and 160 and every size up to it.</summary>
    private const int FlashMaxHeadSize = 160;

    /// <summary>The fused kernel for a padded head size, or null (fp32, or a size without one).</summary>
    private nint? Flash(int padded)
    {
        if (ComputeType == DType.F32 || padded > FlashMaxHeadSize) return null;
        if (!_flash.TryGetValue(padded, out nint function))
        {
            string name = $"flash_attention_{padded}";
            _flash[padded] = function = _device.LoadKernels("attention.cu", [KernelType, $"TWO_TILES_UP_TO={FlashTwoTilesUpTo}", $"FLASH_DP={padded}"], [name])[name];
        }
        return function;
    }

    /// <summary>Up to this padded head size each warp takes two 16-row query tiles; beyond, its accumulators would spill.</summary>
    private const int FlashTwoTilesUpTo = 80;

    /// <summary>
    /// Fused on the tensor cores for 16-bit types and head sizes up to 160 (attention.cu). Otherwise, per batch
    /// item: S = Q·Kᵀ/√d for all heads at once (fp32, heads as the cuBLASLt batch), a row softmax into
    /// the compute type, then O = P·V written into the heads' columns of the output.
    /// </summary>
    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal = false)
    {
        var (_, d) = OpShapes.Attention(q, k, v, heads);
        int batch = q.Shape[0], lq = q.Shape[1], lk = k.Shape[1], channels = q.Shape[2];
        _device.MakeCurrent();
        int padded = (d + 15) / 16 * 16;
        Tensor y;
        if (d % 2 == 0 && Flash(padded) is nint flash)
        {
            y = Allocate(q.Shape);
            // Query rows per block: 4 warps × 16 × the kernel's query tiles per warp.
            // log2(e)/√d folds the softmax scale into the kernel's base-2 exponentials.
            int blockRows = 64 * (padded <= FlashTwoTilesUpTo ? 2 : 1);
            _device.Launch(flash, (uint)((lq + blockRows - 1) / blockRows), (uint)heads, 128, _args.Reset().Add(P(q, "q")).Add(P(k, "k")).Add(P(v, "v")).Add(Ptr(y))
                .Add(lq).Add(lk).Add(d).Add(channels).Add(1.4426950408889634f / MathF.Sqrt(d)).Add(causal ? 1 : 0), gridZ: (uint)batch);
            return y;
        }
        using var scores = Allocate(new Shape(heads, lq, lk), DType.F32);
        using var probs = Allocate(new Shape(heads, lq, lk));
        y = Allocate(q.Shape); // after the temporaries: when they do not fit, nothing is left allocated
        int size = ComputeType.Size();
        for (int b = 0; b < batch; b++)
        {
            ulong qb = P(q, "q") + (ulong)((long)b * lq * channels * size);
            ulong kb = P(k, "k") + (ulong)((long)b * lk * channels * size);
            ulong vb = P(v, "v") + (ulong)((long)b * lk * channels * size);
            ulong yb = Ptr(y) + (ulong)((long)b * lq * channels * size);
            // Sᶜ (lk × lq) = Kᶜᵀ · Qᶜ per head; heads are lq·lk apart in S and d apart in Q and K.
            Gemm(lk, lq, d, kb, channels, CublasLt.OpT, qb, channels, CublasLt.OpN, Ptr(scores), lk, alpha: 1f / MathF.Sqrt(d),
                batch: heads, strideA: d, strideB: d, strideD: (long)lq * lk, outType: CublasLt.DataF32);
            _device.Launch(_k["softmax_rows"], (uint)Math.Min((long)heads * lq, 65535), 1, 256,
                _args.Reset().Add(Ptr(scores)).Add(Ptr(probs)).Add((long)heads * lq).Add(lk).Add(lq).Add(causal ? 1 : 0));
            // Oᶜ (d × lq) = Vᶜ · Pᶜ per head, written with the output's row stride into the head's columns.
            Gemm(d, lq, lk, vb, channels, CublasLt.OpN, Ptr(probs), lk, CublasLt.OpN, yb, channels,
                batch: heads, strideA: d, strideB: (long)lq * lk, strideD: d);
        }
        return y;
    }

    // ---- normalisation ----

    public Tensor GroupNorm(Tensor x, Tensor weight, Tensor bias, int groups, float eps, bool silu = false)
    {
        int spatial = OpShapes.GroupNorm(x, weight, bias, groups);
        int channels = x.Shape.Last, batch = x.Shape[0];
        if (x.ElementCount >= int.MaxValue) throw new DeviceCapacityException($"GroupNorm of {x.Shape}: more than 2³¹ elements");
        _device.MakeCurrent();
        // Enough blocks to fill the GPU about four times over, at least 256 rows each.
        int pairs = batch * groups;
        int chunks = Math.Clamp(4 * _device.Multiprocessors / pairs, 1, Math.Max(1, spatial / 256));
        ulong input = P(x, "GroupNorm input");
        using var partial = Allocate(new Shape(pairs, chunks, 2), DType.F32);
        using var stats = Allocate(new Shape(pairs, 2), DType.F32);
        var y = Allocate(x.Shape); // after the temporaries: when they do not fit, nothing is left allocated
        _device.Launch(_k["groupnorm_partial"], (uint)chunks, (uint)groups, 256, _args.Reset().Add(input).Add(Ptr(partial)).Add(spatial).Add(channels).Add(groups).Add(chunks),
            gridZ: (uint)batch);
        _device.Launch(_k["groupnorm_finalize"], pairs, _args.Reset().Add(input).Add(Ptr(partial)).Add(Ptr(stats)).Add(spatial).Add(channels).Add(groups)
            .Add(chunks).Add(pairs).Add(eps), blockSize: 64);
        _device.Launch(_k["groupnorm_apply"], x.ElementCount, _args.Reset().Add(input).Add(Ptr(y)).Add(Ptr(stats)).Add(P(weight, "weight")).Add(P(bias, "bias"))
            .Add((int)x.ElementCount).Add(spatial).Add(channels).Add(groups).Add(silu ? 1 : 0));
        return y;
    }

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor? bias, float eps)
    {
        OpShapes.LayerNorm(x, weight, bias);
        int channels = x.Shape.Last;
        long rows = x.Shape.Rows;
        _device.MakeCurrent();
        var y = Allocate(x.Shape);
        ulong b = bias == null ? P(weight, "weight") : P(bias, "bias");
        // One warp per row, eight rows per block.
        _device.Launch(_k["layernorm"], (uint)Math.Min((rows + 7) / 8, 65535), 1, 256,
            _args.Reset().Add(P(x, "LayerNorm input")).Add(Ptr(y)).Add(P(weight, "weight")).Add(b).Add(rows).Add(channels).Add(eps).Add(bias == null ? 0 : 1));
        return y;
    }

    // ---- elementwise ----

    public Tensor Activate(Tensor x, Activation function)
    {
        _device.MakeCurrent();
        var y = Allocate(x.Shape);
        // The kernel's numbering (elementwise.cu, activation()).
        int fn = function switch
        {
            Activation.Silu => 0, Activation.Gelu => 1, Activation.GeluTanh => 2, Activation.QuickGelu => 3, Activation.Exp => 4,
            Activation.Relu => 5, Activation.LeakyRelu => 6, Activation.Elu => 7, Activation.Hardswish => 8, Activation.Tanh => 9,
            Activation.Sigmoid => 10, Activation.Mish => 11, Activation.Softplus => 12, Activation.Softsign => 13, Activation.Selu => 14,
            Activation.Relu6 => 15, Activation.Hardsigmoid => 16,
            _ => throw new ArgumentOutOfRangeException(nameof(function)),
        };
        _device.Launch(_k["activate"], x.ElementCount, _args.Reset().Add(P(x, "activation input")).Add(Ptr(y)).Add(x.ElementCount).Add(fn));
        return y;
    }

    public Tensor Geglu(Tensor x)
    {
        var shape = OpShapes.Geglu(x);
        int half = shape.Last;
        _device.MakeCurrent();
        var y = Allocate(shape);
        _device.Launch(_k["geglu"], y.ElementCount, _args.Reset().Add(P(x, "GEGLU input")).Add(Ptr(y)).Add(x.Shape.Rows).Add(half));
        return y;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct BroadcastArgs
    {
        public int Rank;
        public fixed int Outer[6];
        public fixed long Stride[6];
        public int Last, ScalarRows, Same;
    }

    public Tensor Binary(Tensor a, BinaryOp op, Tensor b)
    {
        var plan = Broadcast.Plan(a.Shape, b.Shape);
        var args = new BroadcastArgs { Same = plan.SameShape ? 1 : 0, Last = a.Shape.Last, ScalarRows = plan.ScalarRows ? 1 : 0 };
        if (!plan.SameShape)
        {
            var (outer, strides) = plan.Layout;
            if (outer.Length > 6) throw new ArgumentException($"Binary: rank {a.Shape.Rank} is more than the CUDA kernel handles.");
            args.Rank = outer.Length;
            for (int i = 0; i < outer.Length; i++)
            {
                args.Outer[i] = outer[i];
                args.Stride[i] = strides[i];
            }
        }
        _device.MakeCurrent();
        var y = Allocate(a.Shape);
        int code = op switch { BinaryOp.Add => 0, BinaryOp.Subtract => 1, _ => 2 };
        _device.Launch(_k["binary"], a.ElementCount, _args.Reset().Add(P(a, "left operand")).Add(P(b, "right operand")).Add(Ptr(y)).Add(a.ElementCount).Add(code).Add(args));
        return y;
    }

    public Tensor Axpby(float alpha, Tensor x, float beta, Tensor y)
    {
        OpShapes.SameShape(x, y, "Axpby");
        _device.MakeCurrent();
        var r = Allocate(x.Shape);
        _device.Launch(_k["axpby"], x.ElementCount, _args.Reset().Add(alpha).Add(P(x, "x")).Add(beta).Add(P(y, "y")).Add(Ptr(r)).Add(x.ElementCount));
        return r;
    }

    public Tensor Affine(Tensor x, float scale, float shift = 0)
    {
        _device.MakeCurrent();
        var y = Allocate(x.Shape);
        _device.Launch(_k["affine"], x.ElementCount, _args.Reset().Add(P(x, "x")).Add(scale).Add(shift).Add(Ptr(y)).Add(x.ElementCount));
        return y;
    }

    public Tensor Clamp(Tensor x, float min, float max)
    {
        _device.MakeCurrent();
        var y = Allocate(x.Shape);
        _device.Launch(_k["clamp"], x.ElementCount, _args.Reset().Add(P(x, "x")).Add(min).Add(max).Add(Ptr(y)).Add(x.ElementCount));
        return y;
    }

    // ---- layout ----

    private void CopyBlocks(ulong src, ulong dst, long outer, long srcInner, long srcOffset, long dstInner, long dstOffset, long count) =>
        _device.Launch(_k["copy_blocks"], outer * count, _args.Reset().Add(src).Add(dst).Add(outer).Add(srcInner).Add(srcOffset).Add(dstInner).Add(dstOffset).Add(count));

    public Tensor Concat(IReadOnlyList<Tensor> parts, int axis)
    {
        (var shape, axis) = OpShapes.Concat(parts, axis);
        _device.MakeCurrent();
        var y = Allocate(shape);
        long outer = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        long totalInner = y.ElementCount / Math.Max(1, outer), offset = 0;
        foreach (var p in parts)
        {
            long inner = p.ElementCount / Math.Max(1, outer);
            if (inner > 0) CopyBlocks(P(p, "concat part"), Ptr(y), outer, inner, 0, totalInner, offset, inner);
            offset += inner;
        }
        return y;
    }

    public Tensor Slice(Tensor x, int axis, int start, int count)
    {
        (var shape, axis) = OpShapes.Slice(x, axis, start, count);
        _device.MakeCurrent();
        var y = Allocate(shape);
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= x.Shape[d];
        for (int d = axis + 1; d < x.Shape.Rank; d++) inner *= x.Shape[d];
        if (y.ElementCount > 0)
            CopyBlocks(P(x, "slice input"), Ptr(y), outer, x.Shape[axis] * inner, start * inner, count * inner, 0, count * inner);
        return y;
    }

    public Tensor UpsampleNearest2x(Tensor x)
    {
        var s = x.Shape;
        var shape = OpShapes.Resize(x, s.Rank == 4 ? s[1] * 2 : 1, s.Rank == 4 ? s[2] * 2 : 1, "UpsampleNearest2x");
        _device.MakeCurrent();
        var y = Allocate(shape);
        _device.Launch(_k["upsample_nearest2x"], y.ElementCount, _args.Reset().Add(P(x, "upsample input")).Add(Ptr(y)).Add(s[0]).Add(s[1]).Add(s[2]).Add(s[3]));
        return y;
    }

    public Tensor Resize(Tensor x, int height, int width, ResizeMode mode)
    {
        var s = x.Shape;
        var shape = OpShapes.Resize(x, height, width, "Resize");
        _device.MakeCurrent();
        var y = Allocate(shape);
        _device.Launch(_k["resize"], y.ElementCount, _args.Reset().Add(P(x, "resize input")).Add(Ptr(y)).Add(s[0]).Add(s[1]).Add(s[2]).Add(s[3])
            .Add(height).Add(width).Add(mode == ResizeMode.Bilinear ? 1 : 0));
        return y;
    }

    public Tensor Embedding(Tensor table, ReadOnlySpan<int> ids)
    {
        var shape = OpShapes.Embedding(table, ids);
        int dim = table.Shape[1];
        _device.MakeCurrent();
        ulong idsOnDevice = _device.Allocate(Math.Max(4, ids.Length * 4));
        Tensor y;
        try
        {
            y = Allocate(shape);
            Upload(idsOnDevice, MemoryMarshal.AsBytes(ids));
            _device.Launch(_k["embedding"], y.ElementCount, _args.Reset().Add(P(table, "embedding table")).Add(idsOnDevice).Add(Ptr(y)).Add(ids.Length).Add(dim));
            _device.Synchronize(); // the id buffer goes back to the cache only once the kernel has read it
        }
        finally
        {
            _device.Free(idsOnDevice, Math.Max(4, ids.Length * 4));
        }
        return y;
    }

    public Tensor TimestepEmbedding(Tensor timesteps, int dim, bool flipSinToCos, float downscaleFreqShift)
    {
        int count = checked((int)timesteps.ElementCount);
        _device.MakeCurrent();
        var y = Allocate(new Shape(count, dim));
        // Timesteps come from Scalars (fp32) or, like SDXL's size numbers, in the compute type.
        ulong t = timesteps.DType == DType.F32 && timesteps.Backend == this ? Ptr(timesteps) : P(timesteps, "timesteps");
        _device.Launch(_k["timestep_embedding"], y.ElementCount, _args.Reset().Add(t).Add(Ptr(y)).Add(count).Add(dim).Add(flipSinToCos ? 1 : 0).Add(downscaleFreqShift)
            .Add(timesteps.DType == DType.F32 ? 1 : 0));
        return y;
    }

    /// <summary>Through the host: conversions are rare (precision switches, checks), not part of a step.</summary>
    public Tensor Convert(Tensor x, DType dtype)
    {
        var values = x.ToArray();
        _device.MakeCurrent();
        var y = Allocate(x.Shape, dtype);
        Upload(Ptr(y), Encode(values, dtype));
        return y;
    }

    public void Dispose()
    {
        _device.MakeCurrent();
        _device.Synchronize();
        foreach (var mm in _matmuls.Values)
        {
            _device.Lt.cublasLtMatmulDescDestroy(mm.Desc);
            _device.Lt.cublasLtMatrixLayoutDestroy(mm.A);
            _device.Lt.cublasLtMatrixLayoutDestroy(mm.B);
            _device.Lt.cublasLtMatrixLayoutDestroy(mm.C);
        }
        foreach (var plan in _convolutions.Values)
            if (plan != null) Destroy(plan);
        _device.Lt.cublasLtDestroy(_lt);
        _device.Free(_workspace, WorkspaceBytes);
        if (_staging != null) _device.Cu.cuMemFreeHost(_staging);
        _args.Dispose();
        if (_ownsDevice) _device.Dispose();
    }
}
