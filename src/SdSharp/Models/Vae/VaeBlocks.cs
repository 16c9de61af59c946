using SdSharp.Models.Layers;
using SdSharp.Tensors;

namespace SdSharp.Models.Vae;

/// <summary>
/// ResnetBlock: GroupNorm+SiLU → 3×3 conv → GroupNorm+SiLU → 3×3 conv → + input (through a 1×1 conv where the
/// width changes). No time embedding, unlike the UNet's.
/// </summary>
internal sealed class ResnetBlock
{
    private readonly GroupNorm norm1, norm2;
    private readonly Conv2d conv1, conv2;
    private readonly Conv2d? nin_shortcut;

    public ResnetBlock(WeightReader w, int inChannels, int outChannels, int groups, Padding padding)
    {
        norm1 = new GroupNorm(w.Child("norm1"), inChannels, groups, AutoencoderKL.NormEps);
        conv1 = new Conv2d(w.Child("conv1"), inChannels, outChannels, 3, pad: 1, padding: padding);
        norm2 = new GroupNorm(w.Child("norm2"), outChannels, groups, AutoencoderKL.NormEps);
        conv2 = new Conv2d(w.Child("conv2"), outChannels, outChannels, 3, pad: 1, padding: padding);
        if (inChannels != outChannels) nin_shortcut = new Conv2d(w.Child("nin_shortcut"), inChannels, outChannels, 1);
    }

    public Tensor Forward(Tensor x)
    {
        // h is freed before conv2 runs: at full resolution every tensor alive here is tens of megabytes.
        Tensor h, normed2;
        using (var normed = norm1.Forward(x, silu: true)) h = conv1.Forward(normed);
        using (h) normed2 = norm2.Forward(h, silu: true);
        using (normed2)
        using (var skip = nin_shortcut?.Forward(x))
            return conv2.Forward(normed2, residual: skip ?? x);
    }
}

/// <summary>
/// AttnBlock: GroupNorm, then one attention head over all H·W positions with the full width C as head size
/// (scale 1/√C), projected and added to the input. q/k/v/proj_out are 1×1 convolutions in original files and
/// linear layers in diffusers files: the same product on NHWC.
/// </summary>
internal sealed class AttnBlock
{
    private readonly IBackend _backend;
    private readonly GroupNorm norm;
    private readonly Linear q, k, v, proj_out;

    public AttnBlock(WeightReader w, int channels, int groups)
    {
        _backend = w.Backend;
        norm = new GroupNorm(w.Child("norm"), channels, groups, AutoencoderKL.NormEps);
        q = new Linear(w.Child("q"), channels, channels);
        k = new Linear(w.Child("k"), channels, channels);
        v = new Linear(w.Child("v"), channels, channels);
        proj_out = new Linear(w.Child("proj_out"), channels, channels);
    }

    public Tensor Forward(Tensor x)
    {
        int b = x.Shape[0], h = x.Shape[1], wd = x.Shape[2], c = x.Shape[3];
        using var normed = norm.Forward(x);
        using var tokens = normed.Reshape(b, h * wd, c);
        using var tq = q.Forward(tokens);
        using var tk = k.Forward(tokens);
        using var tv = v.Forward(tokens);
        using var attended = _backend.Attention(tq, tk, tv, heads: 1);
        using var input = x.Reshape(b, h * wd, c);
        using var projected = proj_out.Forward(attended, residual: input);
        return projected.Reshape(b, h, wd, c);
    }
}

/// <summary>The middle of both coders: res block, attention, res block, at the lowest resolution.</summary>
internal sealed class MidBlock
{
    private readonly ResnetBlock block_1, block_2;
    private readonly AttnBlock? attn_1;

    public MidBlock(WeightReader w, int channels, VaeConfig config, Padding padding)
    {
        block_1 = new ResnetBlock(w.Child("block_1"), channels, channels, config.NormGroups, padding);
        if (config.MidAttention) attn_1 = new AttnBlock(w.Child("attn_1"), channels, config.NormGroups);
        block_2 = new ResnetBlock(w.Child("block_2"), channels, channels, config.NormGroups, padding);
    }

    public Tensor Forward(Tensor x)
    {
        Tensor h = block_1.Forward(x);
        if (attn_1 != null) h = Activations.Then(h, attn_1.Forward);
        using (h) return block_2.Forward(h);
    }
}

/// <summary>
/// Halves the map: pad one zero row and column at the bottom and right, then a stride-2 3×3 convolution with no
/// padding of its own. The pad stays zeros when tiling: A1111 makes every Conv2d circular, which changes nothing
/// for a convolution without padding, and this one is padded outside the convolution.
/// </summary>
internal sealed class Downsample(WeightReader w, int channels)
{
    private readonly Conv2d conv = new(w.Child("conv"), channels, channels, 3, stride: 2, asymmetric: (0, 0, 1, 1));

    public Tensor Forward(Tensor x) => conv.Forward(x);
}

/// <summary>Doubles the map: nearest-neighbour 2× then a 3×3 convolution.</summary>
internal sealed class Upsample(WeightReader w, int channels, Padding padding)
{
    private readonly IBackend _backend = w.Backend;
    private readonly Conv2d conv = new(w.Child("conv"), channels, channels, 3, pad: 1, padding: padding);

    public Tensor Forward(Tensor x)
    {
        using var up = _backend.UpsampleNearest2x(x);
        return conv.Forward(up);
    }
}
