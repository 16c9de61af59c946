namespace SdSharp.Imaging;

/// <summary>PNG colour types, with the values IHDR stores.</summary>
public enum PngColorType : byte
{
    Gray = 0,
    Rgb = 2,
    Palette = 3,
    GrayAlpha = 4,
    Rgba = 6,
}

/// <summary>What a PNG's IHDR chunk says about its pixels.</summary>
public sealed record PngHeader(int Width, int Height, int BitDepth, PngColorType ColorType, bool Interlaced)
{
    public long PixelCount => (long)Width * Height;

    /// <summary>Samples per pixel as stored (a palette index is one sample).</summary>
    internal int SamplesPerPixel => ColorType switch
    {
        PngColorType.Rgb => 3,
        PngColorType.GrayAlpha => 2,
        PngColorType.Rgba => 4,
        _ => 1,
    };

    internal int BitsPerPixel => SamplesPerPixel * BitDepth;

    /// <summary>The distance, in bytes, to the byte the filters treat as the left neighbour.</summary>
    internal int FilterStride => Math.Max(1, BitsPerPixel / 8);

    internal long RowBytes(int columns) => ((long)columns * BitsPerPixel + 7) / 8;

    internal static bool IsValidBitDepth(PngColorType colorType, int bitDepth) => colorType switch
    {
        PngColorType.Gray => bitDepth is 1 or 2 or 4 or 8 or 16,
        PngColorType.Palette => bitDepth is 1 or 2 or 4 or 8,
        PngColorType.Rgb or PngColorType.GrayAlpha or PngColorType.Rgba => bitDepth is 8 or 16,
        _ => false,
    };
}
