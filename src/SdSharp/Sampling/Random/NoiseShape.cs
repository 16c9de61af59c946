namespace SdSharp.Sampling.Random;

/// <summary>The shape of one image's latent noise, (channels, height, width), row-major like torch's CHW.</summary>
public readonly record struct NoiseShape(int Channels, int Height, int Width)
{
    public int Count => Channels * Height * Width;

    /// <summary>The latent noise shape for an image of the given pixel size (SD's VAE scales by 8).</summary>
    public static NoiseShape ForImage(int width, int height, int channels = 4, int scale = 8) =>
        new(channels, height / scale, width / scale);
}
