using SdSharp.IO;
using System.Buffers.Binary;
using System.IO.Compression;

namespace SdSharp.Imaging;

/// <summary>
/// Encodes 8-bit images (gray, gray+alpha, RGB, RGBA) as non-interlaced PNG. Each row gets the filter whose
/// output has the smallest sum of absolute values (libpng's heuristic). Text chunks go between IHDR and IDAT,
/// in the order given, where PIL puts the <c>pnginfo</c> chunks that A1111's <c>parameters</c> travel in.
/// </summary>
public static class PngEncoder
{
    public static byte[] Encode(Image image, IEnumerable<PngText>? text = null, PngEncoderOptions? options = null)
    {
        var output = new MemoryStream();
        Encode(image, output, text, options);
        return output.ToArray();
    }

    public static void Encode(Image image, Stream output, IEnumerable<PngText>? text = null, PngEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= PngEncoderOptions.Default;
        if (options.CompressionLevel is < 0 or > 9)
            throw new ArgumentOutOfRangeException(nameof(options), options.CompressionLevel, "zlib levels are 0 to 9.");
        if (options.IdatChunkSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.IdatChunkSize, "IDAT chunks need a size.");

        // Serialize the text first: a bad keyword must fail before anything is written.
        var textChunks = (text ?? []).Select(t => (t.ChunkType, Data: PngTextCodec.Serialize(t, options.CompressionLevel))).ToList();

        var chunks = new PngChunkWriter(output);
        chunks.WriteSignature();
        chunks.Write("IHDR", Header(image));
        foreach (var (type, data) in textChunks) chunks.Write(type, data);

        var idat = new IdatWriteStream(chunks, options.IdatChunkSize);
        var zlibOptions = new ZLibCompressionOptions { CompressionLevel = options.CompressionLevel };
        using (var deflater = new ZLibStream(idat, zlibOptions, leaveOpen: true))
            WriteFilteredRows(image, deflater);
        idat.Flush();
        chunks.Write("IEND", []);
    }

    /// <summary>Encodes to <paramref name="path"/> atomically (see <see cref="AtomicFile"/>).</summary>
    public static void Save(Image image, string path, IEnumerable<PngText>? text = null, bool overwrite = true,
                            PngEncoderOptions? options = null) =>
        AtomicFile.Write(path, stream => Encode(image, stream, text, options), overwrite);

    private static byte[] Header(Image image)
    {
        var data = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(data, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), image.Height);
        data[8] = 8;
        data[9] = (byte)(image.Channels switch
        {
            1 => PngColorType.Gray,
            2 => PngColorType.GrayAlpha,
            3 => PngColorType.Rgb,
            _ => PngColorType.Rgba,
        });
        // compression, filter method and interlace are all 0
        return data;
    }

    private static void WriteFilteredRows(Image image, Stream deflater)
    {
        int stride = image.Stride, bpp = image.Channels;
        // One candidate line per filter, each with its filter type byte in front.
        var candidates = new byte[PngFilters.Count][];
        for (int f = 0; f < PngFilters.Count; f++) (candidates[f] = new byte[stride + 1])[0] = (byte)f;
        ReadOnlySpan<byte> prior = new byte[stride];

        for (int y = 0; y < image.Height; y++)
        {
            ReadOnlySpan<byte> row = image.Row(y);
            deflater.Write(candidates[AdaptiveFilter.Choose(row, prior, bpp, candidates)]);
            prior = row;
        }
    }
}
