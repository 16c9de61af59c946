using System.Globalization;
using SdSharp.IO;
using SdSharp.Models.Weights;

namespace SdSharp.Models.Vae;

/// <summary>
/// The shape of a KL autoencoder (the original AutoencoderKL, diffusers' too) and the constants that put its
/// latents on the scale the UNet was trained on.
/// </summary>
public sealed record VaeConfig
{
    /// <summary>SD 1.x and 2.x latents: the VAE's latent std was about 1/0.18215 on the training images.</summary>
    public const float SdScalingFactor = 0.18215f;

    /// <summary>SDXL's VAE (a different training, same architecture).</summary>
    public const float SdxlScalingFactor = 0.13025f;

    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;

    /// <summary>Channels of each level, from full resolution down (diffusers' block_out_channels; ch·ch_mult in the original).</summary>
    public required int[] LevelChannels { get; init; }

    /// <summary>Res blocks per encoder level; decoder levels have one more (as in both implementations).</summary>
    public int ResBlocksPerLevel { get; init; } = 2;

    public int LatentChannels { get; init; } = 4;
    public int NormGroups { get; init; } = 32;

    /// <summary>latent for the UNet = (sample − ShiftFactor) · ScalingFactor.</summary>
    public float ScalingFactor { get; init; } = SdScalingFactor;
    public float ShiftFactor { get; init; }

    /// <summary>A single-head self-attention in both mid blocks (every SD VAE has it).</summary>
    public bool MidAttention { get; init; } = true;

    public bool QuantConv { get; init; } = true;
    public bool PostQuantConv { get; init; } = true;

    /// <summary>
    /// The activations overflow fp16 (the SDXL VAE's reach past 65504 and decode to NaN/black): a GPU backend must
    /// run this VAE in bf16 or fp32. madebyollin's "sdxl-vae-fp16-fix" was fine-tuned not to; its diffusers config
    /// says so with force_upcast false. The CPU computes in fp32 and ignores this.
    /// </summary>
    public bool RequiresFullRange { get; init; }

    /// <summary>The image size the VAE was trained on: the side of a tile when decoding or encoding in tiles (diffusers' sample_size).</summary>
    public int SampleSize { get; init; } = 512;

    public int Levels => LevelChannels.Length;

    /// <summary>Image pixels per latent pixel along each side (8 for every SD VAE).</summary>
    public int DownscaleFactor => 1 << (Levels - 1);

    /// <summary>From a diffusers AutoencoderKL config.json.</summary>
    public static VaeConfig FromDiffusers(JsonConfig c)
    {
        int[] channels = c.GetIntArray("block_out_channels");
        if (channels.Length == 0) throw new ModelFormatException($"{c.Path}: block_out_channels is empty");
        string? className = c.GetString("_class_name", null);
        if (className != null && className != "AutoencoderKL")
            throw new ModelFormatException($"{c.Path}: a {className} is not a KL autoencoder (AutoencoderKL)");
        foreach (var (key, expected) in new[] { ("down_block_types", "DownEncoderBlock2D"), ("up_block_types", "UpDecoderBlock2D") })
            if (c.HasValue(key) && c.GetStringArray(key) is var types && (types.Length != channels.Length || types.Any(t => t != expected)))
                throw new ModelFormatException($"{c.Path}: {key} must be {channels.Length} × {expected}");
        string act = c.GetString("act_fn", "silu")!;
        if (act != "silu") throw new ModelFormatException($"{c.Path}: act_fn {act} is not supported (only silu)");
        // Per-channel latent statistics (Playground v2.5) replace the single scaling factor; the helpers here do not apply them.
        if (c.HasValue("latents_mean") || c.HasValue("latents_std"))
            throw new ModelFormatException($"{c.Path}: per-channel latents_mean/latents_std are not supported");

        float scaling = (float)c.GetDouble("scaling_factor", SdScalingFactor);
        return new VaeConfig
        {
            InChannels = c.GetInt("in_channels", 3),
            OutChannels = c.GetInt("out_channels", 3),
            LevelChannels = channels,
            ResBlocksPerLevel = c.GetInt("layers_per_block", 1),
            LatentChannels = c.GetInt("latent_channels", 4),
            NormGroups = c.GetInt("norm_num_groups", 32),
            ScalingFactor = scaling,
            ShiftFactor = (float)c.GetDouble("shift_factor", 0),
            SampleSize = c.HasValue("sample_size") && c.GetIntOrIntArray("sample_size", 1) is [> 0 and var size, ..] ? size : 512,
            MidAttention = c.GetBool("mid_block_add_attention", true),
            QuantConv = c.GetBool("use_quant_conv", true),
            PostQuantConv = c.GetBool("use_post_quant_conv", true),
            // Older configs (SD 1.x/2.x) lack force_upcast and diffusers defaults it to true for every VAE, so it
            // only tells when it is false; the SDXL factor is what marks the VAE that overflows.
            RequiresFullRange = scaling == SdxlScalingFactor && c.GetBool("force_upcast", true),
        };
    }

    /// <summary>
    /// From the weights of an original-layout VAE (a single checkpoint's first_stage_model, or a standalone VAE file):
    /// levels, channels, res blocks and latent size are in the shapes. The scaling factor is not (SDXL's VAE has SD's
    /// shapes), so it comes from the checkpoint's family; GroupNorm groups are 32 in every real VAE.
    /// </summary>
    public static VaeConfig FromWeights(WeightMap w, float scalingFactor = SdScalingFactor, int normGroups = 32)
    {
        int levels = 1 + MaxIndex(w, "encoder.down.");
        int resBlocks = 1 + MaxIndex(w, "encoder.down.0.block.");
        if (levels == 0 || resBlocks == 0) throw new ModelFormatException($"{w.Description}: no encoder.down.* weights, so not a KL autoencoder");
        var channels = new int[levels];
        for (int i = 0; i < levels; i++) channels[i] = (int)Shape(w, $"encoder.down.{i}.block.0.conv1.weight")[0];
        long[] encoderIn = Shape(w, "encoder.conv_in.weight");
        long[] decoderIn = Shape(w, "decoder.conv_in.weight");
        long[] decoderOut = Shape(w, "decoder.conv_out.weight");
        return new VaeConfig
        {
            InChannels = (int)encoderIn[1],
            OutChannels = (int)decoderOut[0],
            LevelChannels = channels,
            ResBlocksPerLevel = resBlocks,
            LatentChannels = (int)decoderIn[1],
            NormGroups = normGroups,
            ScalingFactor = scalingFactor,
            MidAttention = w.Contains("encoder.mid.attn_1.q.weight"),
            QuantConv = w.Contains("quant_conv.weight"),
            PostQuantConv = w.Contains("post_quant_conv.weight"),
            RequiresFullRange = scalingFactor == SdxlScalingFactor,
            SampleSize = scalingFactor == SdxlScalingFactor ? 1024 : 512, // what diffusers' single-file configs say
        };
    }

    /// <summary>The largest i among names "{prefix}{i}.…", or −1.</summary>
    private static int MaxIndex(WeightMap w, string prefix)
    {
        int max = -1;
        foreach (string name in w.Names)
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            int dot = name.IndexOf('.', prefix.Length);
            if (dot > prefix.Length && int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int i)) max = Math.Max(max, i);
        }
        return max;
    }

    private static long[] Shape(WeightMap w, string name) =>
        w.ShapeOf(name) is { Length: 4 } shape ? shape : throw new ModelFormatException(
            w.Contains(name) ? $"{w.Description}: {name} is [{string.Join(", ", w.ShapeOf(name)!)}], expected a convolution" : $"{w.Description}: {name} is missing");
}
