using SdSharp.Tensors;

namespace SdSharp.Models.Layers;

/// <summary>y = x·Wᵀ + b, on the last dimension (also a 1×1 convolution of an NHWC map).</summary>
public sealed class Linear
{
    private readonly IBackend _backend;
    private readonly WeightSlot _weight;
    private readonly WeightSlot? _bias;

    public Linear(WeightReader w, int inFeatures, int outFeatures, bool bias = true)
    {
        _backend = w.Backend;
        _weight = w.MatrixSlot("weight", outFeatures, inFeatures);
        _bias = bias ? w.Slot("bias", outFeatures) : null;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>The product, plus <paramref name="residual"/> when given (added in the same pass).</summary>
    public Tensor Forward(Tensor x, Tensor? residual = null) => _backend.Linear(x, _weight.Tensor, _bias?.Tensor, residual);
}

/// <summary>A k×k convolution of an NHWC map.</summary>
public sealed class Conv2d
{
    private readonly IBackend _backend;
    private readonly WeightSlot _weight;
    private readonly WeightSlot _bias;
    private readonly int _stride, _padTop, _padLeft, _padBottom, _padRight;
    private readonly Padding? _padding;

    /// <param name="padding">Shared switch between zero and circular ("tiling") padding; null means zeros.</param>
    public Conv2d(WeightReader w, int inChannels, int outChannels, int kernel, int stride = 1, int pad = 0,
        Padding? padding = null, (int Top, int Left, int Bottom, int Right)? asymmetric = null)
    {
        _backend = w.Backend;
        _weight = w.Slot("weight", outChannels, inChannels, kernel, kernel);
        _bias = w.Slot("bias", outChannels);
        _stride = stride;
        (_padTop, _padLeft, _padBottom, _padRight) = asymmetric ?? (pad, pad, pad, pad);
        _padding = padding;
    }

    public Tensor Forward(Tensor x, Tensor? residual = null) =>
        _backend.Conv2d(x, _weight.Tensor, _bias.Tensor, new Conv2dOptions(_stride, _padTop, _padLeft, _padBottom, _padRight,
            _padding?.Mode ?? PaddingMode.Zeros), residual);
}

/// <summary>
/// Zero or circular padding for every convolution of a network, switched per generation: A1111's "Tiling"
/// makes convolutions wrap around so the image tiles seamlessly.
/// </summary>
public sealed class Padding
{
    public PaddingMode Mode { get; set; } = PaddingMode.Zeros;
}

public sealed class GroupNorm
{
    private readonly IBackend _backend;
    private readonly Tensor _weight, _bias;
    private readonly int _groups;
    private readonly float _eps;

    public GroupNorm(WeightReader w, int channels, int groups, float eps)
    {
        _backend = w.Backend;
        _weight = w.Load("weight", channels);
        _bias = w.Load("bias", channels);
        _groups = groups;
        _eps = eps;
    }

    /// <summary>Normalises, optionally followed by SiLU in the same pass.</summary>
    public Tensor Forward(Tensor x, bool silu = false) => _backend.GroupNorm(x, _weight, _bias, _groups, _eps, silu);
}

public sealed class LayerNorm
{
    private readonly IBackend _backend;
    private readonly Tensor _weight, _bias;
    private readonly float _eps;

    public LayerNorm(WeightReader w, int channels, float eps = 1e-5f)
    {
        _backend = w.Backend;
        _weight = w.Load("weight", channels);
        _bias = w.Load("bias", channels);
        _eps = eps;
    }

    public Tensor Forward(Tensor x) => _backend.LayerNorm(x, _weight, _bias, _eps);
}
