using SdSharp.Models.Layers;
using SdSharp.Tensors;

namespace SdSharp.Models.Unet;

/// <summary>One layer of a UNet block: a res block (uses the time embedding), a spatial transformer (uses the
/// text context), or a resampler (uses neither).</summary>
internal interface IUNetLayer
{
    /// <param name="embSilu">SiLU of the time embedding [B, time_embed_dim], shared by every res block.</param>
    Tensor Forward(Tensor x, Tensor embSilu, Tensor context);
}

/// <summary>A sequence of layers, as one entry of input_blocks/middle_block/output_blocks.</summary>
internal sealed class UNetBlock(IUNetLayer[] layers)
{
    public Tensor Forward(Tensor x, Tensor embSilu, Tensor context)
    {
        Tensor h = layers[0].Forward(x, embSilu, context);
        foreach (var layer in layers.Skip(1)) h = Activations.Then(h, t => layer.Forward(t, embSilu, context));
        return h;
    }
}

/// <summary>
/// ResBlock: GroupNorm+SiLU → 3×3 conv → + projected time embedding → GroupNorm+SiLU → 3×3 conv → + skip.
/// </summary>
internal sealed class ResBlock : IUNetLayer
{
    private readonly IBackend _backend;
    private readonly GroupNorm in_layers_0, out_layers_0;
    private readonly Conv2d in_layers_2, out_layers_3;
    private readonly Linear emb_layers_1;
    private readonly Conv2d? skip_connection;
    private readonly int _outChannels;

    public ResBlock(WeightReader w, int inChannels, int outChannels, int embDim, int groups, Padding padding)
    {
        _backend = w.Backend;
        _outChannels = outChannels;
        in_layers_0 = new GroupNorm(w.Child("in_layers.0"), inChannels, groups, 1e-5f);
        in_layers_2 = new Conv2d(w.Child("in_layers.2"), inChannels, outChannels, 3, pad: 1, padding: padding);
        emb_layers_1 = new Linear(w.Child("emb_layers.1"), embDim, outChannels);
        out_layers_0 = new GroupNorm(w.Child("out_layers.0"), outChannels, groups, 1e-5f);
        out_layers_3 = new Conv2d(w.Child("out_layers.3"), outChannels, outChannels, 3, pad: 1, padding: padding);
        if (inChannels != outChannels) skip_connection = new Conv2d(w.Child("skip_connection"), inChannels, outChannels, 1);
    }

    public Tensor Forward(Tensor x, Tensor embSilu, Tensor context)
    {
        // Each intermediate is freed once the next is made: a step's peak memory (and its graph's arena) is what is alive at once.
        Tensor h, withTime, normed2;
        using (var normed = in_layers_0.Forward(x, silu: true)) h = in_layers_2.Forward(normed);
        using (h)
        using (var emb = emb_layers_1.Forward(embSilu))
        using (var perChannel = emb.Reshape(emb.Shape[0], 1, 1, _outChannels))
            withTime = _backend.Binary(h, BinaryOp.Add, perChannel);
        using (withTime) normed2 = out_layers_0.Forward(withTime, silu: true);
        using (normed2)
        using (var skip = skip_connection?.Forward(x))
            return out_layers_3.Forward(normed2, residual: skip ?? x);
    }
}

/// <summary>
/// SpatialTransformer: GroupNorm → project in → transformer blocks over the H·W tokens → project out → + input.
/// The projections are linear layers (SD 2.x/SDXL) or 1×1 convolutions (SD 1.x), the same product on NHWC.
/// </summary>
internal sealed class SpatialTransformer : IUNetLayer
{
    private readonly GroupNorm norm;
    private readonly Linear proj_in, proj_out;
    private readonly BasicTransformerBlock[] transformer_blocks;

    public SpatialTransformer(WeightReader w, int channels, int heads, int depth, int contextDim, int groups, AttentionContext attention)
    {
        norm = new GroupNorm(w.Child("norm"), channels, groups, 1e-6f);
        proj_in = new Linear(w.Child("proj_in"), channels, channels);
        transformer_blocks = Enumerable.Range(0, depth)
            .Select(i => new BasicTransformerBlock(w.Child($"transformer_blocks.{i}"), channels, heads, contextDim, attention)).ToArray();
        proj_out = new Linear(w.Child("proj_out"), channels, channels);
    }

    public Tensor Forward(Tensor x, Tensor embSilu, Tensor context)
    {
        int b = x.Shape[0], h = x.Shape[1], wd = x.Shape[2], c = x.Shape[3];
        using var normed = norm.Forward(x);
        using var tokens = normed.Reshape(b, h * wd, c);
        Tensor hidden = proj_in.Forward(tokens);
        foreach (var block in transformer_blocks) hidden = Activations.Then(hidden, t => block.Forward(t, context));
        using var input = x.Reshape(b, h * wd, c);
        using var projected = Activations.Then(hidden, t => proj_out.Forward(t, residual: input));
        return projected.Reshape(b, h, wd, c);
    }
}

/// <summary>Self-attention, cross-attention to the text, GEGLU feed-forward; each pre-normed and residual.</summary>
internal sealed class BasicTransformerBlock
{
    private readonly LayerNorm norm1, norm2, norm3;
    private readonly CrossAttention attn1, attn2;
    private readonly FeedForward ff;

    public BasicTransformerBlock(WeightReader w, int channels, int heads, int contextDim, AttentionContext attention)
    {
        norm1 = new LayerNorm(w.Child("norm1"), channels);
        attn1 = new CrossAttention(w.Child("attn1"), channels, channels, heads, attention);
        norm2 = new LayerNorm(w.Child("norm2"), channels);
        attn2 = new CrossAttention(w.Child("attn2"), channels, contextDim, heads, attention);
        norm3 = new LayerNorm(w.Child("norm3"), channels);
        ff = new FeedForward(w.Child("ff"), channels);
    }

    public Tensor Forward(Tensor x, Tensor context)
    {
        Tensor afterSelf, afterCross;
        using (var n = norm1.Forward(x)) afterSelf = attn1.Forward(n, n, residual: x);
        using (afterSelf)
        using (var n = norm2.Forward(afterSelf))
            afterCross = attn2.Forward(n, context, residual: afterSelf);
        using (afterCross)
        using (var n3 = norm3.Forward(afterCross))
            return ff.Forward(n3, residual: afterCross);
    }
}

/// <summary>Multi-head attention of x's tokens over context's tokens (context = x for self-attention).</summary>
internal sealed class CrossAttention
{
    private readonly IBackend _backend;
    private readonly Linear to_q, to_k, to_v, to_out_0;
    private readonly int _heads;
    private readonly AttentionContext _context;

    public CrossAttention(WeightReader w, int channels, int contextDim, int heads, AttentionContext context)
    {
        _backend = w.Backend;
        _heads = heads;
        _context = context;
        to_q = new Linear(w.Child("to_q"), channels, channels, bias: false);
        to_k = new Linear(w.Child("to_k"), contextDim, channels, bias: false);
        to_v = new Linear(w.Child("to_v"), contextDim, channels, bias: false);
        to_out_0 = new Linear(w.Child("to_out.0"), channels, channels);
    }

    public Tensor Forward(Tensor x, Tensor context, Tensor residual)
    {
        using var q = to_q.Forward(x);
        var transformed = new List<Tensor>();
        Tensor k, v;
        try
        {
            var (keyContext, valueContext) = _context.Apply(context, transformed);
            k = to_k.Forward(keyContext);
            v = to_v.Forward(valueContext);
        }
        finally
        {
            transformed.ForEach(t => t.Dispose());
        }
        using var keys = k;
        using var values = v;
        using var attended = _backend.Attention(q, keys, values, _heads);
        return to_out_0.Forward(attended, residual);
    }
}

/// <summary>GEGLU: a linear layer to 2×4C, half of it gating the GELU of the other half, back to C.</summary>
internal sealed class FeedForward
{
    private readonly IBackend _backend;
    private readonly Linear net_0_proj, net_2;

    public FeedForward(WeightReader w, int channels)
    {
        _backend = w.Backend;
        int inner = 4 * channels;
        net_0_proj = new Linear(w.Child("net.0.proj"), channels, 2 * inner);
        net_2 = new Linear(w.Child("net.2"), inner, channels);
    }

    public Tensor Forward(Tensor x, Tensor residual)
    {
        Tensor gated;
        using (var projected = net_0_proj.Forward(x)) gated = _backend.Geglu(projected); // the widest tensor of the block: gone before net.2
        using (gated) return net_2.Forward(gated, residual);
    }
}

/// <summary>A stride-2 3×3 convolution halving the map.</summary>
internal sealed class Downsample(WeightReader w, int channels, Padding padding) : IUNetLayer
{
    private readonly Conv2d op = new(w.Child("op"), channels, channels, 3, stride: 2, pad: 1, padding: padding);

    public Tensor Forward(Tensor x, Tensor embSilu, Tensor context) => op.Forward(x);
}

/// <summary>Nearest 2× upsampling followed by a 3×3 convolution.</summary>
internal sealed class Upsample(WeightReader w, int channels, Padding padding) : IUNetLayer
{
    private readonly IBackend _backend = w.Backend;
    private readonly Conv2d conv = new(w.Child("conv"), channels, channels, 3, pad: 1, padding: padding);

    public Tensor Forward(Tensor x, Tensor embSilu, Tensor context)
    {
        using var up = _backend.UpsampleNearest2x(x);
        return conv.Forward(up);
    }
}

/// <summary>A plain convolution as a block layer (the UNet's conv_in).</summary>
internal sealed class ConvLayer(Conv2d conv) : IUNetLayer
{
    public Tensor Forward(Tensor x, Tensor embSilu, Tensor context) => conv.Forward(x);
}
