using SdSharp.Models.Layers;
using SdSharp.Tensors;
using static SdSharp.Models.Layers.Activations;

namespace SdSharp.Models.Vae;

/// <summary>Image [B, H, W, 3] → moments [B, H/f, W/f, 2·latent] (mean and log-variance, before quant_conv).</summary>
internal sealed class Encoder
{
    private readonly Conv2d conv_in, conv_out;
    private readonly DownLevel[] down;
    private readonly MidBlock mid;
    private readonly GroupNorm norm_out;

    public Encoder(WeightReader w, VaeConfig config, Padding padding)
    {
        int[] channels = config.LevelChannels;
        conv_in = new Conv2d(w.Child("conv_in"), config.InChannels, channels[0], 3, pad: 1, padding: padding);
        down = new DownLevel[config.Levels];
        int ch = channels[0];
        for (int i = 0; i < config.Levels; i++)
        {
            down[i] = new DownLevel(w.Child($"down.{i}"), ch, channels[i], config, hasDownsample: i != config.Levels - 1, padding);
            ch = channels[i];
        }
        mid = new MidBlock(w.Child("mid"), ch, config, padding);
        norm_out = new GroupNorm(w.Child("norm_out"), ch, config.NormGroups, AutoencoderKL.NormEps);
        conv_out = new Conv2d(w.Child("conv_out"), ch, 2 * config.LatentChannels, 3, pad: 1, padding: padding);
    }

    public Tensor Forward(Tensor image)
    {
        Tensor h = conv_in.Forward(image);
        foreach (var level in down) h = Then(h, level.Forward);
        h = Then(h, mid.Forward);
        using (h)
        using (var normed = norm_out.Forward(h, silu: true))
            return conv_out.Forward(normed);
    }

    /// <summary>One resolution: res blocks, then (except at the lowest) a downsampler.</summary>
    private sealed class DownLevel
    {
        private readonly ResnetBlock[] block;
        private readonly Downsample? downsample;

        public DownLevel(WeightReader w, int inChannels, int outChannels, VaeConfig config, bool hasDownsample, Padding padding)
        {
            block = new ResnetBlock[config.ResBlocksPerLevel];
            for (int j = 0; j < block.Length; j++)
                block[j] = new ResnetBlock(w.Child($"block.{j}"), j == 0 ? inChannels : outChannels, outChannels, config.NormGroups, padding);
            if (hasDownsample) downsample = new Downsample(w.Child("downsample"), outChannels);
        }

        public Tensor Forward(Tensor x)
        {
            Tensor h = block[0].Forward(x);
            for (int j = 1; j < block.Length; j++) h = Then(h, block[j].Forward);
            return downsample == null ? h : Then(h, downsample.Forward);
        }
    }
}

/// <summary>Latent [B, h, w, latent] (after post_quant_conv) → image [B, h·f, w·f, 3].</summary>
internal sealed class Decoder
{
    private readonly Conv2d conv_in, conv_out;
    private readonly MidBlock mid;
    private readonly UpLevel[] up;
    private readonly GroupNorm norm_out;

    public Decoder(WeightReader w, VaeConfig config, Padding padding)
    {
        int[] channels = config.LevelChannels;
        int ch = channels[^1];
        conv_in = new Conv2d(w.Child("conv_in"), config.LatentChannels, ch, 3, pad: 1, padding: padding);
        mid = new MidBlock(w.Child("mid"), ch, config, padding);
        // up.{i} works at level i's resolution, so the lowest (up.{levels-1}) runs first.
        up = new UpLevel[config.Levels];
        for (int i = config.Levels - 1; i >= 0; i--)
        {
            up[i] = new UpLevel(w.Child($"up.{i}"), ch, channels[i], config, hasUpsample: i != 0, padding);
            ch = channels[i];
        }
        norm_out = new GroupNorm(w.Child("norm_out"), ch, config.NormGroups, AutoencoderKL.NormEps);
        conv_out = new Conv2d(w.Child("conv_out"), ch, config.OutChannels, 3, pad: 1, padding: padding);
    }

    public Tensor Forward(Tensor latent)
    {
        Tensor h = conv_in.Forward(latent);
        h = Then(h, mid.Forward);
        for (int i = up.Length - 1; i >= 0; i--) h = Then(h, up[i].Forward);
        using (h)
        using (var normed = norm_out.Forward(h, silu: true))
            return conv_out.Forward(normed);
    }

    /// <summary>One resolution: one res block more than the encoder's level, then (except at full size) an upsampler.</summary>
    private sealed class UpLevel
    {
        private readonly ResnetBlock[] block;
        private readonly Upsample? upsample;

        public UpLevel(WeightReader w, int inChannels, int outChannels, VaeConfig config, bool hasUpsample, Padding padding)
        {
            block = new ResnetBlock[config.ResBlocksPerLevel + 1];
            for (int j = 0; j < block.Length; j++)
                block[j] = new ResnetBlock(w.Child($"block.{j}"), j == 0 ? inChannels : outChannels, outChannels, config.NormGroups, padding);
            if (hasUpsample) upsample = new Upsample(w.Child("upsample"), outChannels, padding);
        }

        public Tensor Forward(Tensor x)
        {
            Tensor h = block[0].Forward(x);
            for (int j = 1; j < block.Length; j++) h = Then(h, block[j].Forward);
            return upsample == null ? h : Then(h, upsample.Forward);
        }
    }
}
