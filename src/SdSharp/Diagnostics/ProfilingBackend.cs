using System.Diagnostics;
using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Diagnostics;

/// <summary>
/// Wraps a backend and times every op (synchronising after each, so device ops are charged to themselves):
/// where a step's time goes, by op. For benchmarks and --profile; it slows asynchronous backends down.
/// </summary>
public sealed class ProfilingBackend(IBackend inner) : IBackend
{
    private readonly Dictionary<string, (int Calls, double Seconds, double Flops)> _ops = new();

    public IBackend Inner => inner;
    public string Name => inner.Name + " (profiled)";
    public DType ComputeType => inner.ComputeType;
    public IBackend CreateSibling(DType computeType) => new ProfilingBackend(inner.CreateSibling(computeType));

    /// <summary>Per op: calls, seconds, and GFLOP/s for the products.</summary>
    public IReadOnlyDictionary<string, (int Calls, double Seconds, double Flops)> Ops => _ops;

    public void Reset() => _ops.Clear();

    public string Report()
    {
        double total = _ops.Values.Sum(o => o.Seconds);
        var lines = _ops.OrderByDescending(kv => kv.Value.Seconds).Select(kv =>
            FormattableString.Invariant($"{kv.Key,-18} {kv.Value.Calls,6} calls {kv.Value.Seconds * 1000,10:F1} ms {100 * kv.Value.Seconds / Math.Max(total, 1e-12),5:F1}%") +
            (kv.Value.Flops > 0 ? FormattableString.Invariant($" {kv.Value.Flops / kv.Value.Seconds / 1e9,8:F0} GFLOP/s") : ""));
        return string.Join(Environment.NewLine, lines) + Environment.NewLine + FormattableString.Invariant($"{"total",-18} {total * 1000,17:F1} ms");
    }

    private T Time<T>(string op, Func<T> run, double flops = 0)
    {
        inner.Synchronize();
        var sw = Stopwatch.StartNew();
        T result = run();
        inner.Synchronize();
        var (calls, seconds, f) = _ops.GetValueOrDefault(op);
        _ops[op] = (calls + 1, seconds + sw.Elapsed.TotalSeconds, f + flops);
        return result;
    }

    public Tensor Full(Shape shape, float value) => inner.Full(shape, value);
    public Tensor FromHost(ReadOnlySpan<float> data, Shape shape) => inner.FromHost(data, shape);
    public Tensor Scalars(ReadOnlySpan<float> values) => inner.Scalars(values);
    public Tensor LoadWeight(TensorEntry entry) => inner.LoadWeight(entry);
    public void CopyToHost(Tensor tensor, Span<float> destination) => inner.CopyToHost(tensor, destination);
    public void Synchronize() => inner.Synchronize();

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null, Tensor? residual = null) =>
        Time("Linear", () => inner.Linear(x, weight, bias, residual), 2.0 * x.Shape.Rows * weight.Shape[0] * weight.Shape[1]);

    public Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions options, Tensor? residual = null)
    {
        var (oh, ow) = options.OutputSize(x.Shape[1], x.Shape[2], weight.Shape[1], weight.Shape[2]);
        double flops = 2.0 * x.Shape[0] * oh * ow * weight.ElementCount;
        return Time(weight.Shape[1] == 1 ? "Conv2d 1x1" : "Conv2d", () => inner.Conv2d(x, weight, bias, options, residual), flops);
    }

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal = false) =>
        Time("Attention", () => inner.Attention(q, k, v, heads, causal), 4.0 * q.Shape[0] * q.Shape[1] * k.Shape[1] * q.Shape[2]);

    public Tensor GroupNorm(Tensor x, Tensor weight, Tensor bias, int groups, float eps, bool silu = false) =>
        Time("GroupNorm", () => inner.GroupNorm(x, weight, bias, groups, eps, silu));
    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor? bias, float eps) => Time("LayerNorm", () => inner.LayerNorm(x, weight, bias, eps));
    public Tensor Activate(Tensor x, Activation function) => Time("Activate", () => inner.Activate(x, function));
    public Tensor Geglu(Tensor x) => Time("Geglu", () => inner.Geglu(x));
    public Tensor Binary(Tensor a, BinaryOp op, Tensor b) => Time("Binary", () => inner.Binary(a, op, b));
    public Tensor Axpby(float alpha, Tensor x, float beta, Tensor y) => Time("Axpby", () => inner.Axpby(alpha, x, beta, y));
    public Tensor Affine(Tensor x, float scale, float shift = 0) => Time("Affine", () => inner.Affine(x, scale, shift));
    public Tensor Clamp(Tensor x, float min, float max) => Time("Clamp", () => inner.Clamp(x, min, max));
    public Tensor Concat(IReadOnlyList<Tensor> parts, int axis) => Time("Concat", () => inner.Concat(parts, axis));
    public Tensor Slice(Tensor x, int axis, int start, int count) => Time("Slice", () => inner.Slice(x, axis, start, count));
    public Tensor UpsampleNearest2x(Tensor x) => Time("Upsample", () => inner.UpsampleNearest2x(x));
    public Tensor Resize(Tensor x, int height, int width, ResizeMode mode) => Time("Resize", () => inner.Resize(x, height, width, mode));
    public Tensor Embedding(Tensor table, ReadOnlySpan<int> ids)
    {
        int[] copy = ids.ToArray();
        return Time("Embedding", () => inner.Embedding(table, copy));
    }
    public Tensor TimestepEmbedding(Tensor timesteps, int dim, bool flipSinToCos, float downscaleFreqShift) =>
        Time("TimestepEmbedding", () => inner.TimestepEmbedding(timesteps, dim, flipSinToCos, downscaleFreqShift));
    public Tensor Convert(Tensor x, DType dtype) => Time("Convert", () => inner.Convert(x, dtype));

    public void Dispose() => inner.Dispose();
}
