using System.Buffers.Binary;

namespace SdSharp.Imaging;

/// <summary>
/// Turns the inflated image data of a PNG into 8-bit pixels: unfilters each scanline, undoes Adam7, unpacks
/// sub-byte samples, keeps the high byte of 16-bit ones, looks up palettes and turns tRNS into an alpha channel.
/// Reads exactly the bytes the image needs from the inflater, never more, so a zlib bomb inflates no further.
/// </summary>
internal sealed class PngRasterDecoder
{
    private readonly PngHeader _header;
    private readonly byte[] _palette;         // RGB triplets from PLTE (palette images only)
    private readonly byte[]? _paletteAlpha;   // tRNS of a palette image: alpha by index, 255 past its end
    private readonly int[]? _transparent;     // tRNS of a gray (1 value) or RGB (3 values) image, at full bit depth

    public PngRasterDecoder(PngHeader header, byte[]? palette, byte[]? transparency)
    {
        _header = header;
        _palette = palette ?? [];
        switch (header.ColorType)
        {
            case PngColorType.Palette when transparency is { Length: > 0 }:
                _paletteAlpha = transparency;
                break;
            case PngColorType.Gray when transparency is { Length: >= 2 }:
                _transparent = [BinaryPrimitives.ReadUInt16BigEndian(transparency)];
                break;
            case PngColorType.Rgb when transparency is { Length: >= 6 }:
                _transparent =
                [
                    BinaryPrimitives.ReadUInt16BigEndian(transparency),
                    BinaryPrimitives.ReadUInt16BigEndian(transparency.AsSpan(2)),
                    BinaryPrimitives.ReadUInt16BigEndian(transparency.AsSpan(4)),
                ];
                break;
        }
        OutputChannels = header.ColorType switch
        {
            PngColorType.Gray => _transparent is null ? 1 : 2,
            PngColorType.GrayAlpha => 2,
            PngColorType.Rgb => _transparent is null ? 3 : 4,
            PngColorType.Palette => _paletteAlpha is null ? 3 : 4,
            _ => 4,
        };
    }

    /// <summary>Gray, gray+alpha, RGB or RGBA; tRNS adds an alpha channel, a palette expands to RGB(A).</summary>
    public int OutputChannels { get; }

    public Image Decode(Stream inflated, PngChunkReader chunks)
    {
        int width = _header.Width, height = _header.Height, channels = OutputChannels;
        long maxRowBytes = _header.RowBytes(width);
        if ((long)width * height * channels > Array.MaxLength || maxRowBytes + 1 > Array.MaxLength)
            throw chunks.Error($"{width}x{height} pixels do not fit in memory as one image");

        // Uninitialized: the pages of a big image are only touched as rows arrive, and a short stream throws.
        var image = new Image(width, height, channels, GC.AllocateUninitializedArray<byte>(width * height * channels));
        var line = new byte[maxRowBytes + 1];   // filter type byte, then the row
        var prior = new byte[maxRowBytes + 1];
        byte[]? scattered = _header.Interlaced ? new byte[width * channels] : null;
        int bpp = _header.FilterStride;

        foreach (Adam7Pass pass in _header.Interlaced ? Adam7Pass.All : [Adam7Pass.Full])
        {
            int columns = pass.Columns(width), rows = pass.Rows(height);
            if (columns == 0 || rows == 0) continue;   // small images have empty passes, with no filter bytes
            int rowBytes = (int)_header.RowBytes(columns);
            Array.Clear(prior);
            for (int r = 0; r < rows; r++)
            {
                Span<byte> current = line.AsSpan(0, rowBytes + 1);
                ReadRow(inflated, current, chunks);
                byte filter = current[0];
                if (filter >= PngFilters.Count) throw chunks.DataError($"invalid filter type {filter} in image data");
                PngFilters.Unfilter(filter, current[1..], prior.AsSpan(1, rowBytes), bpp);

                Span<byte> target = image.Row(pass.YStart + r * pass.YStep);
                if (scattered is null)
                {
                    ExpandRow(current[1..], columns, target);
                }
                else
                {
                    ExpandRow(current[1..], columns, scattered);
                    for (int i = 0; i < columns; i++)
                        scattered.AsSpan(i * channels, channels).CopyTo(target[((pass.XStart + i * pass.XStep) * channels)..]);
                }
                (line, prior) = (prior, line);
            }
        }
        return image;
    }

    private static void ReadRow(Stream inflated, Span<byte> row, PngChunkReader chunks)
    {
        int n;
        try
        {
            n = inflated.ReadAtLeast(row, row.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw chunks.DataError("corrupt image data in IDAT (not a valid zlib stream)", e);
        }
        if (n < row.Length) throw chunks.DataError("image data ends early (IDAT holds fewer bytes than the image needs)");
    }

    /// <summary>Writes <paramref name="columns"/> pixels of <see cref="OutputChannels"/> bytes from an unfiltered row.</summary>
    private void ExpandRow(ReadOnlySpan<byte> raw, int columns, Span<byte> output)
    {
        int depth = _header.BitDepth, channels = OutputChannels;
        switch (_header.ColorType)
        {
            case PngColorType.Palette:
                for (int i = 0; i < columns; i++) WritePaletteEntry(Sample(raw, i, depth), output.Slice(i * channels, channels));
                break;

            case PngColorType.GrayAlpha or PngColorType.Rgba or PngColorType.Gray or PngColorType.Rgb
                when depth == 8 && _transparent is null:
                raw[..(columns * channels)].CopyTo(output);
                break;

            case PngColorType.GrayAlpha or PngColorType.Rgba when depth == 16:
                for (int i = 0; i < columns * channels; i++) output[i] = raw[2 * i];   // the high byte, as PIL keeps
                break;

            default: // gray or RGB at any depth, possibly with a tRNS colour
                int samples = _header.SamplesPerPixel;
                for (int i = 0; i < columns; i++)
                {
                    bool transparent = _transparent is not null;
                    for (int s = 0; s < samples; s++)
                    {
                        int value = Sample(raw, i * samples + s, depth);
                        output[i * channels + s] = ToByte(value, depth);
                        transparent &= _transparent is not null && _transparent[s] == value;
                    }
                    if (_transparent is not null) output[i * channels + samples] = transparent ? (byte)0 : (byte)255;
                }
                break;
        }
    }

    private void WritePaletteEntry(int index, Span<byte> pixel)
    {
        // An index past the palette is the encoder's mistake: show black rather than refuse the whole image.
        if (3 * index + 2 < _palette.Length)
            _palette.AsSpan(3 * index, 3).CopyTo(pixel);
        else
            pixel[..3].Clear();
        if (pixel.Length == 4) pixel[3] = index < _paletteAlpha!.Length ? _paletteAlpha[index] : (byte)255;
    }

    /// <summary>Sample number <paramref name="index"/> of a row, at its stored bit depth (big-endian, MSB first).</summary>
    private static int Sample(ReadOnlySpan<byte> raw, int index, int depth)
    {
        switch (depth)
        {
            case 8: return raw[index];
            case 16: return raw[2 * index] << 8 | raw[2 * index + 1];
            default:
                int bit = index * depth;
                return (raw[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
        }
    }

    /// <summary>Scales a sample to 0..255: low depths stretch to the full range, 16 bits keep the high byte.</summary>
    private static byte ToByte(int value, int depth) => depth switch
    {
        1 => (byte)(value * 255),
        2 => (byte)(value * 85),
        4 => (byte)(value * 17),
        16 => (byte)(value >> 8),
        _ => (byte)value,
    };
}
