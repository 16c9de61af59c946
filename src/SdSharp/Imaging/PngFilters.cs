namespace SdSharp.Imaging;

/// <summary>
/// The five PNG scanline filters. A filtered byte predicts each byte from its left neighbour (a, one pixel back),
/// the byte above (b) and the byte above-left (c); "bpp" is the pixel size in bytes, at least 1.
/// </summary>
internal static class PngFilters
{
    public const byte None = 0, Sub = 1, Up = 2, Average = 3, Paeth = 4;
    public const int Count = 5;

    /// <summary>Undoes filter <paramref name="type"/> (0..4) in place; <paramref name="prev"/> is the previous
    /// unfiltered row, all zeros for the first row of an image or interlace pass.</summary>
    public static void Unfilter(byte type, Span<byte> row, ReadOnlySpan<byte> prev, int bpp)
    {
        int head = Math.Min(bpp, row.Length);   // the first pixel has no left neighbour
        switch (type)
        {
            case None:
                break;
            case Sub:
                for (int i = bpp; i < row.Length; i++) row[i] += row[i - bpp];
                break;
            case Up:
                for (int i = 0; i < row.Length; i++) row[i] += prev[i];
                break;
            case Average:
                for (int i = 0; i < head; i++) row[i] += (byte)(prev[i] >> 1);
                for (int i = bpp; i < row.Length; i++) row[i] += (byte)((row[i - bpp] + prev[i]) >> 1);
                break;
            case Paeth:
                for (int i = 0; i < head; i++) row[i] += prev[i]; // a = c = 0 there, so Paeth picks b
                for (int i = bpp; i < row.Length; i++) row[i] += PaethPredictor(row[i - bpp], prev[i], prev[i - bpp]);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "PNG filter types are 0..4");
        }
    }

    public static byte PaethPredictor(byte a, byte b, byte c)
    {
        int pa = Math.Abs(b - c);         // |p - a| with p = a + b - c
        int pb = Math.Abs(a - c);         // |p - b|
        int pc = Math.Abs(a + b - 2 * c); // |p - c|
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }
}
