using SdSharp.Models.Layers;
using SdSharp.Models.Weights;
using SdSharp.Tensors;

namespace SdSharp.Models.Unet;

/// <summary>
/// The Stable Diffusion UNet (the original UNetModel, which diffusers calls UNet2DConditionModel): predicts the
/// noise (or v) in latents x [B, H, W, C] at timesteps t [B], attending to the text context [B, L, D]. SDXL adds
/// a "vector" made of the pooled text and Fourier features of the image size and crop.
/// </summary>
public sealed class UNetModel : IDisposable
{
    private readonly IBackend _backend;
    private readonly DeviceWeights _weights;
    private readonly Linear time_embed_0, time_embed_2;
    private readonly Linear? label_emb_0_0, label_emb_0_2;
    private readonly UNetBlock[] input_blocks, output_blocks;
    private readonly UNetBlock middle_block;
    private readonly GroupNorm out_0;
    private readonly Conv2d out_2;
    private readonly IReplayCache? _replays;

    public UNetModel(IBackend backend, WeightMap weights, UNetConfig config)
    {
        _backend = backend;
        Config = config;
        _weights = new DeviceWeights(backend, weights);
        try
        {
            var w = _weights.Root;
            int mc = config.ModelChannels, embDim = config.TimeEmbedDim, groups = config.NormGroups;
            time_embed_0 = new Linear(w.Child("time_embed.0"), mc, embDim);
            time_embed_2 = new Linear(w.Child("time_embed.2"), embDim, embDim);
            if (config.AdmInChannels is int adm)
            {
                label_emb_0_0 = new Linear(w.Child("label_emb.0.0"), adm, embDim);
                label_emb_0_2 = new Linear(w.Child("label_emb.0.2"), embDim, embDim);
            }
            if (config.MiddleTransformerDepth == 0) throw new IO.ModelFormatException($"{weights.Description}: a middle block without attention is not supported");

            // The layer order below is the original UNetModel's, which is what the block numbering of the weights follows.
            var inputs = new List<UNetBlock> { new([new ConvLayer(new Conv2d(w.Child("input_blocks.0.0"), config.InChannels, mc, 3, pad: 1, padding: Padding))]) };
            var skipChannels = new Stack<int>([mc]);
            int ch = mc;
            for (int level = 0; level < config.Levels; level++)
            {
                for (int r = 0; r < config.ResBlocksPerLevel; r++)
                {
                    var block = w.Child($"input_blocks.{inputs.Count}");
                    var layers = new List<IUNetLayer> { new ResBlock(block.Child("0"), ch, config.LevelChannels[level], embDim, groups, Padding) };
                    ch = config.LevelChannels[level];
                    if (config.TransformerDepth[level] > 0)
                        layers.Add(new SpatialTransformer(block.Child("1"), ch, config.Heads[level], config.TransformerDepth[level], config.ContextDim, groups, Attention));
                    inputs.Add(new UNetBlock(layers.ToArray()));
                    skipChannels.Push(ch);
                }
                if (level != config.Levels - 1)
                {
                    inputs.Add(new UNetBlock([new Downsample(w.Child($"input_blocks.{inputs.Count}.0"), ch, Padding)]));
                    skipChannels.Push(ch);
                }
            }
            input_blocks = inputs.ToArray();

            middle_block = new UNetBlock(
            [
                new ResBlock(w.Child("middle_block.0"), ch, ch, embDim, groups, Padding),
                new SpatialTransformer(w.Child("middle_block.1"), ch, config.Heads[^1], config.MiddleTransformerDepth, config.ContextDim, groups, Attention),
                new ResBlock(w.Child("middle_block.2"), ch, ch, embDim, groups, Padding),
            ]);

            var outputs = new List<UNetBlock>();
            for (int level = config.Levels - 1; level >= 0; level--)
            {
                for (int r = 0; r <= config.ResBlocksPerLevel; r++)
                {
                    var block = w.Child($"output_blocks.{outputs.Count}");
                    var layers = new List<IUNetLayer> { new ResBlock(block.Child("0"), ch + skipChannels.Pop(), config.LevelChannels[level], embDim, groups, Padding) };
                    ch = config.LevelChannels[level];
                    if (config.TransformerDepth[level] > 0)
                        layers.Add(new SpatialTransformer(block.Child("1"), ch, config.Heads[level], config.TransformerDepth[level], config.ContextDim, groups, Attention));
                    if (level != 0 && r == config.ResBlocksPerLevel)
                        layers.Add(new Upsample(block.Child(layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)), ch, Padding));
                    outputs.Add(new UNetBlock(layers.ToArray()));
                }
            }
            output_blocks = outputs.ToArray();
            out_0 = new GroupNorm(w.Child("out.0"), ch, groups, 1e-5f);
            out_2 = new Conv2d(w.Child("out.2"), ch, config.OutChannels, 3, pad: 1, padding: Padding);
            _weights.Complete();
            _replays = backend.CreateReplayCache();
        }
        catch
        {
            _weights.Dispose();
            throw;
        }
    }

    public UNetConfig Config { get; }
    public IBackend Backend => _backend;

    /// <summary>Zero or circular padding of every convolution ("tiling").</summary>
    public Padding Padding { get; } = new();

    /// <summary>What runs on the context of every attention layer before its keys and values (hypernetworks).</summary>
    public AttentionContext Attention { get; } = new();

    /// <summary>The weights of the linear and convolution layers by canonical name, which add-ons may lend copies to.</summary>
    public IReadOnlyDictionary<string, WeightSlot> WeightSlots => _weights.Slots;

    /// <summary>Weights the file holds for this network that the network does not use.</summary>
    public IEnumerable<string> UnusedWeights => _weights.Unused;

    /// <param name="x">Latents [B, H, W, C] (NHWC).</param>
    /// <param name="timesteps">The (possibly fractional) timestep of each item, [B].</param>
    /// <param name="context">Text conditioning [B, L, ContextDim].</param>
    /// <param name="textEmbeds">SDXL: pooled text embedding [B, P].</param>
    /// <param name="timeIds">SDXL: original size, crop and target size (refiner: aesthetic score instead of target), [B, n].</param>
    public Tensor Forward(Tensor x, Tensor timesteps, Tensor context, Tensor? textEmbeds = null, Tensor? timeIds = null)
    {
        if (_replays == null) return Compute(x, timesteps, context, textEmbeds, timeIds);
        Tensor?[] inputs = [x, timesteps, context, textEmbeds, timeIds];
        string shape = string.Join(";", inputs.Select(t => t == null ? "-" : $"{t.DType}{t.Shape}"));
        // What else decides the ops and the tensors they read: padding, hypernetworks, lent (LoRA) weights.
        string state = FormattableString.Invariant($"{Padding.Mode}/{Attention.Version}/{_weights.Version}");
        return _replays.Run(shape, state, inputs, i => Compute(i[0]!, i[1]!, i[2]!, i[3], i[4]));
    }

    private Tensor Compute(Tensor x, Tensor timesteps, Tensor context, Tensor? textEmbeds, Tensor? timeIds)
    {
        using var embSilu = TimeEmbedding(timesteps, textEmbeds, timeIds);
        var skips = new Stack<Tensor>();
        try
        {
            Tensor h = x;
            foreach (var block in input_blocks)
            {
                h = block.Forward(h, embSilu, context);
                skips.Push(h);
            }
            h = middle_block.Forward(h, embSilu, context); // the previous h is a skip, freed below
            foreach (var block in output_blocks)
            {
                using var skip = skips.Pop();
                using var joined = Activations.Then(h, t => _backend.Concat([t, skip], -1));
                h = block.Forward(joined, embSilu, context);
            }
            using var normed = Activations.Then(h, t => out_0.Forward(t, silu: true));
            return out_2.Forward(normed);
        }
        finally
        {
            while (skips.Count > 0) skips.Pop().Dispose();
        }
    }

    /// <summary>SiLU of the time embedding (+ SDXL's vector embedding): what every res block consumes.</summary>
    private Tensor TimeEmbedding(Tensor timesteps, Tensor? textEmbeds, Tensor? timeIds)
    {
        using var sinusoid = _backend.TimestepEmbedding(timesteps, Config.ModelChannels, Config.FlipSinToCos, Config.FreqShift);
        using var hidden = time_embed_0.Forward(sinusoid);
        using var activated = _backend.Activate(hidden, Activation.Silu);
        Tensor emb = time_embed_2.Forward(activated);
        if (label_emb_0_0 != null)
        {
            if (textEmbeds == null || timeIds == null)
            {
                emb.Dispose();
                throw new ArgumentException("This UNet (SDXL) needs the pooled text embedding and the size/crop numbers.");
            }
            int batch = timeIds.Shape[0], count = timeIds.Shape[1];
            using var flat = timeIds.Reshape(batch * count);
            using var fourier = _backend.TimestepEmbedding(flat, Config.AddTimeEmbedDim, Config.FlipSinToCos, Config.FreqShift);
            using var perItem = fourier.Reshape(batch, count * Config.AddTimeEmbedDim);
            using var vector = _backend.Concat([textEmbeds, perItem], -1);
            using var v1 = label_emb_0_0!.Forward(vector);
            using var v1Silu = _backend.Activate(v1, Activation.Silu);
            var withVector = label_emb_0_2!.Forward(v1Silu, residual: emb);
            emb.Dispose();
            emb = withVector;
        }
        var result = _backend.Activate(emb, Activation.Silu);
        emb.Dispose();
        return result;
    }

    public void Dispose()
    {
        _replays?.Dispose();
        _weights.Dispose();
    }
}
