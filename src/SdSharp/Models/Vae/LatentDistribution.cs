using SdSharp.Tensors;

namespace SdSharp.Models.Vae;

/// <summary>
/// What the encoder says about an image: a diagonal Gaussian over latents, mean and log-variance [B, h, w, latent]
/// (diffusers' DiagonalGaussianDistribution). Unscaled: <see cref="AutoencoderKL.ToLatent"/> puts a sample on the
/// UNet's scale. Owns both tensors.
/// </summary>
public sealed class LatentDistribution : IDisposable
{
    /// <summary>diffusers (and the original) clamp the log-variance so exp stays finite for any weights.</summary>
    public const float MinLogVar = -30, MaxLogVar = 20;

    internal LatentDistribution(Tensor mean, Tensor logVar)
    {
        Mean = mean;
        LogVar = logVar;
    }

    public Tensor Mean { get; }

    /// <summary>log σ², clamped to [<see cref="MinLogVar"/>, <see cref="MaxLogVar"/>].</summary>
    public Tensor LogVar { get; }

    /// <summary>The most likely latent, the mean (a view the caller disposes; the distribution keeps its own).</summary>
    public Tensor Mode() => Mean.Reshape(Mean.Shape.ToArray());

    /// <summary>mean + σ·noise, with standard-normal noise of the mean's shape from the caller's generator.</summary>
    public Tensor Sample(Tensor noise)
    {
        if (noise.Shape != Mean.Shape) throw new ArgumentException($"Noise {noise.Shape} for latents {Mean.Shape}.");
        var backend = Mean.Backend;
        using var halfLogVar = backend.Affine(LogVar, 0.5f);
        using var std = backend.Activate(halfLogVar, Activation.Exp);
        using var scaled = backend.Binary(noise, BinaryOp.Multiply, std);
        return backend.Binary(Mean, BinaryOp.Add, scaled);
    }

    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
    }
}
