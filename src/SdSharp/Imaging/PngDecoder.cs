namespace SdSharp.Imaging;

/// <summary>
/// Decodes PNG files of every colour type, bit depth and interlace method to 8-bit <see cref="Image"/>s, and
/// reads their text chunks. Output channels: gray → 1, gray+alpha → 2, RGB → 3, RGBA → 4, palette → 3 (4 with
/// tRNS); a tRNS colour on gray or RGB adds an alpha channel. 16-bit samples keep their high byte.
/// Every error is a <see cref="PngFormatException"/> whose message starts with the file name.
/// </summary>
public static class PngDecoder
{
    private const string StreamName = "PNG data";

    public static DecodedPng Decode(string path, PngDecoderOptions? options = null)
    {
        using FileStream stream = OpenRead(path);
        return Decode(stream, path, options);
    }

    public static DecodedPng Decode(byte[] data, string name = StreamName, PngDecoderOptions? options = null) =>
        Decode(new MemoryStream(data, writable: false), name, options);

    /// <summary>Decodes from the stream's current position; <paramref name="name"/> starts error messages.</summary>
    public static DecodedPng Decode(Stream stream, string name = StreamName, PngDecoderOptions? options = null)
    {
        var parser = new PngParser(stream, name, options ?? PngDecoderOptions.Default);
        parser.Run(decodePixels: true);
        return new DecodedPng(parser.Image!, new PngInfo(parser.Header!, parser.Text));
    }

    /// <summary>
    /// The header and text chunks without decoding pixels: IDAT chunks are skipped (by seeking, where the stream
    /// can), so this is fast on any image size and the pixel limit does not apply. Other chunks are CRC-checked.
    /// </summary>
    public static PngInfo ReadInfo(string path, PngDecoderOptions? options = null)
    {
        using FileStream stream = OpenRead(path);
        return ReadInfo(stream, path, options);
    }

    public static PngInfo ReadInfo(Stream stream, string name = StreamName, PngDecoderOptions? options = null)
    {
        var parser = new PngParser(stream, name, options ?? PngDecoderOptions.Default);
        parser.Run(decodePixels: false);
        return new PngInfo(parser.Header!, parser.Text);
    }

    private static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidInputException($"{path}: no such file", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidInputException($"{path}: permission denied", e);
        }
    }
}
