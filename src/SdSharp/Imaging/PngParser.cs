using System.Buffers.Binary;
using System.IO.Compression;

namespace SdSharp.Imaging;

/// <summary>
/// One pass over a PNG's chunks: the header, palette and transparency, the text chunks wherever they are, and
/// (when asked) the pixels. Unknown ancillary chunks are skipped after their CRC is checked; an unknown critical
/// chunk is an error, as the PNG specification requires.
/// </summary>
internal sealed class PngParser(Stream stream, string name, PngDecoderOptions options)
{
    // Room for a text chunk's keyword, language tag and translated keyword beyond its value.
    private const int TextChunkOverhead = 4096;

    private readonly PngChunkReader _chunks = new(stream, name);
    private readonly List<PngText> _text = [];
    private long _textChars;
    private byte[]? _palette;
    private byte[]? _transparency;
    private bool _sawImageData;

    public PngHeader? Header { get; private set; }

    public Image? Image { get; private set; }

    public IReadOnlyList<PngText> Text => _text;

    /// <summary>Reads the whole file; without <paramref name="decodePixels"/> IDAT chunks are skipped unread.</summary>
    public void Run(bool decodePixels)
    {
        _chunks.ReadSignature();
        _chunks.Next();
        if (_chunks.Type != "IHDR") throw _chunks.Error($"first chunk is {_chunks.Type}, not IHDR");
        if (_chunks.Length != 13) throw _chunks.Error($"IHDR has {_chunks.Length} bytes, not 13");
        PngHeader header = ParseHeader(_chunks.ReadAll());
        Header = header;
        if (decodePixels && header.PixelCount > options.MaxPixels)
            throw _chunks.Error($"{header.Width}x{header.Height} is {header.PixelCount} pixels, over the limit of " +
                                $"{options.MaxPixels} (a decompression bomb?)");

        _chunks.Next();
        while (_chunks.Type != "IEND")
        {
            if (_chunks.Type == "IDAT")
            {
                ReadImageData(decodePixels);   // leaves the reader on the chunk after the IDAT run
                continue;
            }
            ReadChunk(header);
            _chunks.Next();
        }
        _chunks.End();
        if (!_sawImageData) throw _chunks.Error("no image data (IDAT chunk missing)");
    }

    private void ReadChunk(PngHeader header)
    {
        switch (_chunks.Type)
        {
            case "IHDR":
                throw _chunks.Error("second IHDR chunk");
            case "PLTE" when header.ColorType == PngColorType.Palette && _palette is null && !_sawImageData:
                if (_chunks.Length % 3 != 0 || _chunks.Length is 0 or > 768)
                    throw _chunks.Error($"PLTE has {_chunks.Length} bytes, not 3 per entry for 1 to 256 entries");
                _palette = _chunks.ReadAll();
                break;
            case "tRNS" when _transparency is null && !_sawImageData && _chunks.Length <= 256:
                _transparency = _chunks.ReadAll();
                break;
            case var type when PngTextCodec.IsTextChunk(type):
                ReadText(type);
                break;
            default:
                if (_chunks.IsCritical && _chunks.Type != "PLTE") throw _chunks.Error($"unknown critical chunk {_chunks.Type}");
                _chunks.End();
                break;
        }
    }

    private void ReadImageData(bool decodePixels)
    {
        if (!decodePixels || _sawImageData)
        {
            // Skipped for png-info; a second IDAT run after other chunks holds nothing the image needs.
            if (decodePixels) _chunks.End(); else _chunks.SkipUnchecked();
            _sawImageData = true;
            _chunks.Next();
            return;
        }
        _sawImageData = true;
        PngHeader header = Header!;
        if (header.ColorType == PngColorType.Palette && _palette is null) throw _chunks.Error("palette image without PLTE chunk");

        var idat = new IdatReadStream(_chunks);
        using (var inflater = new ZLibStream(idat, CompressionMode.Decompress, leaveOpen: true))
            Image = new PngRasterDecoder(header, _palette, _transparency).Decode(inflater, _chunks);
        idat.Drain();
    }

    private void ReadText(string type)
    {
        if (_chunks.Length > (long)options.MaxTextBytes + TextChunkOverhead)
            throw _chunks.Error($"{type} chunk of {_chunks.Length} bytes is over the text limit of {options.MaxTextBytes} bytes");
        PngText? text = PngTextCodec.Parse(type, _chunks.ReadAll(), options.MaxTextBytes, _chunks);
        if (text is null) return;
        _textChars += text.Value.Length;
        if (_textChars > options.MaxTotalTextChars)
            throw _chunks.Error($"text chunks hold more than the limit of {options.MaxTotalTextChars} characters in all");
        _text.Add(text);
    }

    private PngHeader ParseHeader(byte[] data)
    {
        uint width = BinaryPrimitives.ReadUInt32BigEndian(data);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4));
        byte bitDepth = data[8], colorType = data[9], compression = data[10], filter = data[11], interlace = data[12];
        if (width is 0 or > int.MaxValue || height is 0 or > int.MaxValue)
            throw _chunks.Error($"invalid image size {width}x{height}");
        if (!Enum.IsDefined((PngColorType)colorType)) throw _chunks.Error($"invalid colour type {colorType}");
        if (!PngHeader.IsValidBitDepth((PngColorType)colorType, bitDepth))
            throw _chunks.Error($"invalid bit depth {bitDepth} for colour type {colorType}");
        if (compression != 0) throw _chunks.Error($"unknown compression method {compression}");
        if (filter != 0) throw _chunks.Error($"unknown filter method {filter}");
        if (interlace > 1) throw _chunks.Error($"unknown interlace method {interlace}");
        return new PngHeader((int)width, (int)height, bitDepth, (PngColorType)colorType, interlace == 1);
    }
}
