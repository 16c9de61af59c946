namespace SdSharp.Imaging;

/// <summary>Safety limits for decoding PNGs from untrusted sources.</summary>
public sealed record PngDecoderOptions
{
    /// <summary>PIL's hard limit: twice <c>Image.MAX_IMAGE_PIXELS</c> (89,478,485), where it raises DecompressionBombError.</summary>
    public const long DefaultMaxPixels = 2L * 89_478_485;

    public static PngDecoderOptions Default { get; } = new();

    /// <summary>Images with more pixels are refused from IHDR, before anything is allocated.</summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>The largest value of one text chunk, in bytes after inflating; a bigger one is refused.</summary>
    public int MaxTextBytes { get; init; } = 16 << 20;

    /// <summary>The most text of all chunks together, in characters: many small bombs add up too.</summary>
    public long MaxTotalTextChars { get; init; } = 64 << 20;
}
