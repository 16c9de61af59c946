using SdSharp.IO;
using SdSharp.Models.Layers;
using SdSharp.Models.Weights;
using SdSharp.Tensors;

namespace SdSharp.Models.Vae;

/// <summary>
/// The KL autoencoder of Stable Diffusion (the original AutoencoderKL; diffusers' has the same structure): the
/// encoder turns an image into a Gaussian over latents 8× smaller per side, the decoder turns latents back into an
/// image. Images are NHWC in [-1, 1]; latents are NHWC and unscaled here: the factor that puts them on the UNet's
/// scale is applied at the pipeline boundary with <see cref="ToLatent"/> and <see cref="FromLatent"/>.
/// Inputs and outputs live on the pipeline's backend; the network may compute on another (a full-range sibling
/// when the pipeline runs in fp16 and this VAE overflows it), with tensors crossing only at Encode and Decode.
/// </summary>
public sealed class AutoencoderKL : IDisposable
{
    /// <summary>Every GroupNorm of the VAE (both implementations use 1e-6, the UNet 1e-5).</summary>
    internal const float NormEps = 1e-6f;

    private readonly IBackend _backend;
    private readonly IBackend _compute;
    private readonly DeviceWeights _weights;
    private readonly Encoder encoder;
    private readonly Decoder decoder;
    private readonly Conv2d? quant_conv, post_quant_conv;

    /// <param name="weights">The VAE's weights under the original names (any layout mapped by a <see cref="WeightMap"/>);
    /// the map and its file must outlive the model.</param>
    /// <param name="compute">Where the network runs, when not on <paramref name="backend"/> (the caller owns it).</param>
    public AutoencoderKL(IBackend backend, WeightMap weights, VaeConfig config, IBackend? compute = null)
    {
        if (config.Levels == 0 || config.ResBlocksPerLevel < 1)
            throw new ModelFormatException($"{weights.Description}: a VAE needs at least one level and one res block per level");
        _backend = backend;
        _compute = compute ?? backend;
        Config = config;
        _weights = new DeviceWeights(_compute, weights);
        try
        {
            var w = _weights.Root;
            int moments = 2 * config.LatentChannels;
            encoder = new Encoder(w.Child("encoder"), config, Padding);
            if (config.QuantConv) quant_conv = new Conv2d(w.Child("quant_conv"), moments, moments, 1);
            if (config.PostQuantConv) post_quant_conv = new Conv2d(w.Child("post_quant_conv"), config.LatentChannels, config.LatentChannels, 1);
            decoder = new Decoder(w.Child("decoder"), config, Padding);
            _weights.Complete();
        }
        catch
        {
            _weights.Dispose();
            throw;
        }
    }

    public VaeConfig Config { get; }

    /// <summary>Zero or circular padding of every convolution ("tiling"), shared by encoder and decoder.</summary>
    public Padding Padding { get; } = new();

    /// <summary>Weights the file holds for this network that the network does not use.</summary>
    public IEnumerable<string> UnusedWeights => _weights.Unused;

    /// <summary>
    /// Always encode and decode in tiles of <see cref="VaeConfig.SampleSize"/> pixels when the image is larger
    /// (diffusers' enable_tiling, stable-diffusion.cpp's --vae-tiling). Without it, tiles are used only when the
    /// backend cannot run the whole image (<see cref="DeviceCapacityException"/>: out of memory, or past a size limit).
    /// </summary>
    public bool Tiling { get; set; }

    /// <summary>The latent distribution of images [B, H, W, 3] with values in [-1, 1].</summary>
    public LatentDistribution Encode(Tensor image)
    {
        Check(image, Config.InChannels, "image");
        using var input = _compute == _backend ? null : _compute.FromHost(image.ToArray(), image.Shape);
        int tile = Config.SampleSize;
        using var moments = InTilesIfNeeded(input ?? image, tile, Math.Max(1, tile / Config.DownscaleFactor), EncodeMoments);
        int z = Config.LatentChannels;
        var mean = ToPipeline(_compute.Slice(moments, 3, 0, z));
        using var rawLogVar = _compute.Slice(moments, 3, z, z);
        return new LatentDistribution(mean, ToPipeline(_compute.Clamp(rawLogVar, LatentDistribution.MinLogVar, LatentDistribution.MaxLogVar)));
    }

    private Tensor EncodeMoments(Tensor image)
    {
        Tensor moments = encoder.Forward(image);
        return quant_conv == null ? moments : Activations.Then(moments, m => quant_conv.Forward(m));
    }

    /// <summary>Images [B, h·8, w·8, 3], about [-1, 1] (not clamped), from unscaled latents [B, h, w, latent].</summary>
    public Tensor Decode(Tensor latent)
    {
        Check(latent, Config.LatentChannels, "latent");
        using var input = _compute == _backend ? null : _compute.FromHost(latent.ToArray(), latent.Shape);
        int tile = Math.Max(1, Config.SampleSize / Config.DownscaleFactor);
        return ToPipeline(InTilesIfNeeded(input ?? latent, tile, Config.SampleSize, DecodeWhole));
    }

    private Tensor DecodeWhole(Tensor latent)
    {
        using var z = post_quant_conv?.Forward(latent);
        return decoder.Forward(z ?? latent);
    }

    /// <summary>network(x) on the whole of x, or on tiles of <paramref name="inTile"/> pixels (<paramref name="outTile"/> out) when asked to or when the backend cannot run the whole.</summary>
    private Tensor InTilesIfNeeded(Tensor x, int inTile, int outTile, Func<Tensor, Tensor> network)
    {
        bool larger = x.Shape[1] > inTile || x.Shape[2] > inTile;
        if (larger && Tiling) return TiledVae.Run(_compute, x, inTile, outTile, network);
        try
        {
            return network(x);
        }
        catch (DeviceCapacityException) when (larger)
        {
            return TiledVae.Run(_compute, x, inTile, outTile, network);
        }
    }

    /// <summary>A result of the compute backend handed over to the pipeline's (through the host; the original is disposed).</summary>
    private Tensor ToPipeline(Tensor x)
    {
        if (_compute == _backend) return x;
        using (x) return _backend.FromHost(x.ToArray(), x.Shape);
    }

    /// <summary>A VAE sample (or mode) → the UNet's latent: (sample − shift) · scaling factor.</summary>
    public Tensor ToLatent(Tensor sample) => _backend.Affine(sample, Config.ScalingFactor, -Config.ShiftFactor * Config.ScalingFactor);

    /// <summary>The UNet's latent → what <see cref="Decode"/> takes: latent / scaling factor + shift.</summary>
    public Tensor FromLatent(Tensor latent) => _backend.Affine(latent, 1 / Config.ScalingFactor, Config.ShiftFactor);

    private static void Check(Tensor x, int channels, string what)
    {
        if (x.Shape.Rank != 4 || x.Shape[3] != channels)
            throw new ArgumentException($"The VAE takes {what}s as NHWC [B, H, W, {channels}], got {x.Shape}.");
    }

    public void Dispose() => _weights.Dispose();
}
