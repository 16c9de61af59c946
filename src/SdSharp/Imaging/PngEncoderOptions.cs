namespace SdSharp.Imaging;

public sealed record PngEncoderOptions
{
    public static PngEncoderOptions Default { get; } = new();

    /// <summary>zlib level 0 (store) to 9 (smallest); 6 is zlib's default and what PIL uses unless told otherwise.</summary>
    public int CompressionLevel { get; init; } = 6;

    /// <summary>The size of each IDAT chunk; 64 KiB like PIL.</summary>
    public int IdatChunkSize { get; init; } = 1 << 16;
}
