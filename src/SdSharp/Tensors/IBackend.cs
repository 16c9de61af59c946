using SdSharp.IO;

namespace SdSharp.Tensors;

public enum PaddingMode
{
    Zeros,
    /// <summary>Wrap around (what A1111's "Tiling" uses for seamless textures).</summary>
    Circular,
}

public enum Activation
{
    Silu,
    /// <summary>Exact GELU, x·Φ(x) with erf.</summary>
    Gelu,
    /// <summary>GELU with the tanh approximation.</summary>
    GeluTanh,
    /// <summary>x·σ(1.702x), used by OpenAI's CLIP.</summary>
    QuickGelu,
    /// <summary>eˣ: no activation, but the same elementwise shape (the VAE's standard deviation from its log-variance).</summary>
    Exp,
    // The rest are the element-wise modules A1111's hypernetworks may name (torch.nn defaults).
    Relu,
    /// <summary>Slope 0.01 below zero.</summary>
    LeakyRelu,
    /// <summary>α = 1 (also CELU with α = 1).</summary>
    Elu,
    /// <summary>x·relu6(x + 3)/6 (A1111's "swish").</summary>
    Hardswish,
    Tanh,
    Sigmoid,
    /// <summary>x·tanh(softplus(x)).</summary>
    Mish,
    /// <summary>log(1 + eˣ), x itself above 20 (torch's threshold).</summary>
    Softplus,
    /// <summary>x/(1 + |x|).</summary>
    Softsign,
    Selu,
    /// <summary>min(max(x, 0), 6).</summary>
    Relu6,
    /// <summary>relu6(x + 3)/6.</summary>
    Hardsigmoid,
}

public enum BinaryOp { Add, Subtract, Multiply }

public enum ResizeMode
{
    /// <summary>torch's "nearest": source index floor(dst · in/out).</summary>
    Nearest,
    /// <summary>torch's "bilinear" with align_corners=False, no antialiasing.</summary>
    Bilinear,
}

/// <summary>
/// Stride and padding of a 2-D convolution. Padding may be asymmetric (the VAE encoder's downsampler pads only
/// the bottom and right edge); the padding mode applies to all four sides.
/// </summary>
public readonly record struct Conv2dOptions(int Stride, int PadTop, int PadLeft, int PadBottom, int PadRight, PaddingMode PaddingMode)
{
    public Conv2dOptions(int stride = 1, int padding = 0, PaddingMode mode = PaddingMode.Zeros)
        : this(stride, padding, padding, padding, padding, mode) { }

    public (int Height, int Width) OutputSize(int height, int width, int kernelHeight, int kernelWidth) =>
        ((height + PadTop + PadBottom - kernelHeight) / Stride + 1, (width + PadLeft + PadRight - kernelWidth) / Stride + 1);
}

/// <summary>
/// The operations Stable Diffusion needs, implemented by each device. Every op returns a new tensor and
/// leaves its inputs alone; the caller owns (and disposes) the result. Activations are contiguous in the
/// backend's <see cref="ComputeType"/>, laid out NHWC ([B, H, W, C]) or [B, L, C]. Weights come from
/// <see cref="LoadWeight"/>: linear weights keep the checkpoint layout [out, in]; convolution weights are
/// turned from the checkpoint's [out, in, kh, kw] into [out, kh, kw, in] (OHWI), the layout NHWC
/// convolutions want. Weights may stay in the file's dtype (f16/bf16) where the backend converts on use. Ops may run asynchronously: only
/// <see cref="CopyToHost"/> and <see cref="Synchronize"/> wait for the device.
/// </summary>
public interface IBackend : IDisposable
{
    string Name { get; }

    /// <summary>The dtype activations are computed and stored in.</summary>
    DType ComputeType { get; }

    /// <summary>
    /// Another backend on the same device that computes in <paramref name="computeType"/> (for a network that
    /// overflows fp16, such as SDXL's VAE). The caller disposes it, before this one.
    /// </summary>
    IBackend CreateSibling(DType computeType);

    /// <summary>Where a network's repeated calls can be recorded once and replayed (CUDA graphs); null where the backend cannot.</summary>
    IReplayCache? CreateReplayCache() => null;

    // ---- memory and transfers ----

    Tensor Full(Shape shape, float value);
    Tensor FromHost(ReadOnlySpan<float> data, Shape shape);

    /// <summary>
    /// An fp32 vector [n] whatever the compute type: timesteps must stay exact (bf16 would turn 999 into 1000
    /// and the sinusoids with it), as diffusers keeps them in fp32.
    /// </summary>
    Tensor Scalars(ReadOnlySpan<float> values);

    /// <summary>
    /// A weight from a model file, on this device; 4-D weights come back as OHWI. The CPU backend may reference
    /// the file's memory without copying, so the file must stay open as long as the weight is used.
    /// </summary>
    Tensor LoadWeight(TensorEntry entry);

    void CopyToHost(Tensor tensor, Span<float> destination);

    /// <summary>Waits until all queued work has finished (for timing).</summary>
    void Synchronize();

    // ---- matrix products ----

    /// <summary>x [..., in] · weightᵀ [in, out] + bias [out] + residual [..., out].</summary>
    Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null, Tensor? residual = null);

    /// <summary>2-D convolution of x [B, H, W, Cin] with weight [Cout, kh, kw, Cin] (+ bias, + residual).</summary>
    Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions options, Tensor? residual = null);

    /// <summary>
    /// Multi-head scaled-dot-product attention, softmax(q·kᵀ/√d)·v per head: q [B, Lq, heads·d],
    /// k and v [B, Lk, heads·d] → [B, Lq, heads·d]. Causal masks key j &gt; query i (CLIP).
    /// </summary>
    Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal = false);

    // ---- normalisation ----

    /// <summary>Group norm over x [B, ..., C] (statistics per batch item and channel group), optionally followed by SiLU.</summary>
    Tensor GroupNorm(Tensor x, Tensor weight, Tensor bias, int groups, float eps, bool silu = false);

    /// <summary>Layer norm over the last dimension.</summary>
    Tensor LayerNorm(Tensor x, Tensor weight, Tensor? bias, float eps);

    // ---- elementwise ----

    Tensor Activate(Tensor x, Activation function);

    /// <summary>GEGLU: x [..., 2n] split into (a, gate) halves → a · GELU(gate) [..., n].</summary>
    Tensor Geglu(Tensor x);

    /// <summary>a (op) b, where b broadcasts to a's shape (NumPy rules: b's dims right-aligned, 1 or equal).</summary>
    Tensor Binary(Tensor a, BinaryOp op, Tensor b);

    /// <summary>α·x + β·y for tensors of one shape: the step of every sampler, and guidance.</summary>
    Tensor Axpby(float alpha, Tensor x, float beta, Tensor y);

    /// <summary>x · scale + shift.</summary>
    Tensor Affine(Tensor x, float scale, float shift = 0);

    /// <summary>Each element limited to [min, max] (the VAE's log-variance, decoded images into [-1, 1]).</summary>
    Tensor Clamp(Tensor x, float min, float max);

    // ---- layout ----

    Tensor Concat(IReadOnlyList<Tensor> parts, int axis);

    /// <summary>Elements [start, start+count) along one axis, copied.</summary>
    Tensor Slice(Tensor x, int axis, int start, int count);

    /// <summary>Nearest-neighbour 2× upsampling of x [B, H, W, C].</summary>
    Tensor UpsampleNearest2x(Tensor x);

    /// <summary>Resize x [B, H, W, C] to [B, height, width, C].</summary>
    Tensor Resize(Tensor x, int height, int width, ResizeMode mode);

    /// <summary>Rows of a table [n, d] picked by id → [ids.Length, d].</summary>
    Tensor Embedding(Tensor table, ReadOnlySpan<int> ids);

    /// <summary>
    /// Sinusoidal embedding of timesteps [N] → [N, dim], as diffusers' get_timestep_embedding with
    /// max_period 10000: frequencies exp(-ln(10000)·i/(dim/2 − shift)), [sin, cos] or [cos, sin] when flipped.
    /// </summary>
    Tensor TimestepEmbedding(Tensor timesteps, int dim, bool flipSinToCos, float downscaleFreqShift);

    Tensor Convert(Tensor x, DType dtype);
}
