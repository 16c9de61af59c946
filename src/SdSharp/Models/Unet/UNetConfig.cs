using SdSharp.IO;
using SdSharp.Models.Weights;

namespace SdSharp.Models.Unet;

/// <summary>
/// The shape of a Stable Diffusion UNet (the original UNetModel's parameters): channels, res blocks and
/// transformer depth per level, heads, context size, and SDXL's extra "vector" conditioning.
/// </summary>
public sealed record UNetConfig
{
    public required int InChannels { get; init; }
    public required int OutChannels { get; init; }
    /// <summary>Output channels of each level (diffusers' block_out_channels); the first is the model width.</summary>
    public required int[] LevelChannels { get; init; }
    public required int ResBlocksPerLevel { get; init; }
    /// <summary>Transformer blocks per spatial transformer at each level; 0 where a level has no attention.</summary>
    public required int[] TransformerDepth { get; init; }
    public required int MiddleTransformerDepth { get; init; }
    /// <summary>Attention heads at each level (the middle block uses the last level's).</summary>
    public required int[] Heads { get; init; }
    public required int ContextDim { get; init; }
    /// <summary>Spatial transformers project in and out with linear layers (SD 2.x, SDXL) rather than 1×1 convolutions.</summary>
    public bool LinearProjection { get; init; }
    public int NormGroups { get; init; } = 32;
    /// <summary>Size of SDXL's "vector" input (pooled text + size/crop Fourier features); null for SD 1.x/2.x.</summary>
    public int? AdmInChannels { get; init; }
    /// <summary>Width of each size/crop number's Fourier features in the vector (256 for SDXL).</summary>
    public int AddTimeEmbedDim { get; init; } = 256;
    public bool FlipSinToCos { get; init; } = true;
    public float FreqShift { get; init; }

    public int ModelChannels => LevelChannels[0];
    public int TimeEmbedDim => 4 * ModelChannels;
    public int Levels => LevelChannels.Length;

    /// <summary>From a diffusers UNet2DConditionModel config.json.</summary>
    public static UNetConfig FromDiffusers(JsonConfig c)
    {
        int[] channels = c.GetIntArray("block_out_channels");
        int levels = channels.Length;
        string[] down = c.GetStringArray("down_block_types");
        string[] up = c.GetStringArray("up_block_types");
        bool[] attention = down.Select(t => t.Contains("CrossAttn", StringComparison.Ordinal)).ToArray();
        if (down.Length != levels || up.Length != levels || !up.Reverse().Select(t => t.Contains("CrossAttn", StringComparison.Ordinal)).SequenceEqual(attention))
            throw new ModelFormatException($"{c.Path}: up blocks do not mirror the down blocks; only the Stable Diffusion UNet structure is supported");
        foreach (string key in new[] { "class_embed_type", "encoder_hid_dim_type", "time_cond_proj_dim" })
            if (c.HasValue(key)) throw new ModelFormatException($"{c.Path}: {key} is not supported");
        int[] depth = c.Has("transformer_layers_per_block") ? c.GetIntOrIntArray("transformer_layers_per_block", levels) : Enumerable.Repeat(1, levels).ToArray();
        // diffusers' legacy naming: attention_head_dim holds the number of heads unless num_attention_heads is set.
        int[] heads = c.HasValue("num_attention_heads") ? c.GetIntOrIntArray("num_attention_heads", levels) : c.GetIntOrIntArray("attention_head_dim", levels);
        string? addition = c.GetString("addition_embed_type", null);
        if (addition != null && addition != "text_time") throw new ModelFormatException($"{c.Path}: addition_embed_type {addition} is not supported");
        string midType = c.GetString("mid_block_type", "UNetMidBlock2DCrossAttn")!;
        if (midType != "UNetMidBlock2DCrossAttn") throw new ModelFormatException($"{c.Path}: mid_block_type {midType} is not supported");
        return new UNetConfig
        {
            InChannels = c.GetInt("in_channels", 4),
            OutChannels = c.GetInt("out_channels", 4),
            LevelChannels = channels,
            ResBlocksPerLevel = c.GetInt("layers_per_block", 2),
            TransformerDepth = attention.Select((a, i) => a ? depth[i] : 0).ToArray(),
            MiddleTransformerDepth = depth[^1],
            Heads = heads,
            ContextDim = c.GetInt("cross_attention_dim"),
            LinearProjection = c.GetBool("use_linear_projection", false),
            NormGroups = c.GetInt("norm_num_groups", 32),
            AdmInChannels = addition == null ? null : c.GetInt("projection_class_embeddings_input_dim"),
            AddTimeEmbedDim = addition == null ? 256 : c.GetInt("addition_time_embed_dim"),
            FlipSinToCos = c.GetBool("flip_sin_to_cos", true),
            FreqShift = (float)c.GetDouble("freq_shift", 0),
        };
    }

    /// <summary>
    /// From the weights of an original-layout UNet: channels, levels, res blocks, depths and context size are in
    /// the shapes; what is not (heads, GroupNorm groups) comes from the family's conventions.
    /// </summary>
    /// <param name="headsFor">Heads of a level with this many channels (SD 1.x: 8; SD 2.x/SDXL: channels/64).</param>
    public static UNetConfig FromWeights(WeightMap w, Func<int, int> headsFor, int normGroups = 32, int addTimeEmbedDim = 256)
    {
        long[] convIn = w.ShapeOf("input_blocks.0.0.weight") ?? throw Missing(w, "input_blocks.0.0.weight");
        long[] convOut = w.ShapeOf("out.2.weight") ?? throw Missing(w, "out.2.weight");
        var channels = new List<int>();
        var depth = new List<int>();
        var resBlocks = new List<int> { 0 };
        int contextDim = 0;
        bool linear = false;
        for (int i = 1; w.Contains($"input_blocks.{i}.0.op.weight") || w.Contains($"input_blocks.{i}.0.in_layers.2.weight"); i++)
        {
            if (w.Contains($"input_blocks.{i}.0.op.weight"))
            {
                resBlocks.Add(0);
                continue;
            }
            int level = resBlocks.Count - 1;
            int width = (int)w.ShapeOf($"input_blocks.{i}.0.out_layers.3.weight")![0];
            int blocks = 0;
            while (w.Contains($"input_blocks.{i}.1.transformer_blocks.{blocks}.attn1.to_q.weight")) blocks++;
            if (resBlocks[level]++ == 0)
            {
                channels.Add(width);
                depth.Add(blocks);
            }
            if (blocks > 0 && contextDim == 0)
            {
                contextDim = (int)w.ShapeOf($"input_blocks.{i}.1.transformer_blocks.0.attn2.to_k.weight")![1];
                linear = w.ShapeOf($"input_blocks.{i}.1.proj_in.weight")!.Length == 2;
            }
        }
        if (channels.Count == 0 || resBlocks.Distinct().Count() != 1)
            throw new ModelFormatException($"{w.Description}: input blocks do not have the Stable Diffusion UNet structure");
        int middleDepth = 0;
        while (w.Contains($"middle_block.1.transformer_blocks.{middleDepth}.attn1.to_q.weight")) middleDepth++;
        long[]? label = w.ShapeOf("label_emb.0.0.weight");
        return new UNetConfig
        {
            InChannels = (int)convIn[1],
            OutChannels = (int)convOut[0],
            LevelChannels = channels.ToArray(),
            ResBlocksPerLevel = resBlocks[0],
            TransformerDepth = depth.ToArray(),
            MiddleTransformerDepth = middleDepth,
            Heads = channels.Select(headsFor).ToArray(),
            ContextDim = contextDim,
            LinearProjection = linear,
            NormGroups = normGroups,
            AdmInChannels = label == null ? null : (int)label[1],
            AddTimeEmbedDim = addTimeEmbedDim,
        };
    }

    private static ModelFormatException Missing(WeightMap w, string name) => new($"{w.Description}: {name} is missing");
}
