namespace SdSharp.Imaging;

/// <summary>
/// An 8-bit image with interleaved channels, rows top to bottom and no row padding. Channels: 1 gray, 2 gray and
/// alpha, 3 RGB, 4 RGBA (PIL's modes L, LA, RGB, RGBA). Alpha is straight, not premultiplied.
/// </summary>
public sealed class Image
{
    public Image(int width, int height, int channels)
        : this(width, height, channels, new byte[CheckedSize(width, height, channels)])
    {
    }

    /// <summary>Wraps <paramref name="pixels"/> without copying; its length must be exactly width × height × channels.</summary>
    public Image(int width, int height, int channels, byte[] pixels)
    {
        long size = CheckedSize(width, height, channels);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != size)
            throw new ArgumentException($"A {width}x{height} image with {channels} channels needs {size} bytes, not {pixels.Length}.", nameof(pixels));
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }
    public byte[] Pixels { get; }

    /// <summary>Bytes per row.</summary>
    public int Stride => Width * Channels;

    public bool HasAlpha => Channels is 2 or 4;

    public Span<byte> Row(int y) => Pixels.AsSpan(y * Stride, Stride);

    /// <summary>RGB like PIL's <c>convert("RGB")</c>: gray is replicated and alpha is dropped (not composited).</summary>
    public Image ToRgb() => Convert(3);

    /// <summary>RGBA like PIL's <c>convert("RGBA")</c>: gray is replicated, missing alpha becomes 255.</summary>
    public Image ToRgba() => Convert(4);

    /// <summary>Gray like PIL's <c>convert("L")</c>: ITU-R 601-2 luma, rounded; alpha is dropped.</summary>
    public Image ToGray() => Convert(1);

    private Image Convert(int channels)
    {
        var result = new Image(Width, Height, channels);
        ReadOnlySpan<byte> src = Pixels;
        Span<byte> dst = result.Pixels;
        int n = Width * Height;
        for (int i = 0, s = 0, d = 0; i < n; i++, s += Channels, d += channels)
        {
            byte r, g, b, a;
            if (Channels <= 2)
            {
                r = g = b = src[s];
                a = Channels == 2 ? src[s + 1] : (byte)255;
            }
            else
            {
                r = src[s];
                g = src[s + 1];
                b = src[s + 2];
                a = Channels == 4 ? src[s + 3] : (byte)255;
            }
            switch (channels)
            {
                case 1:
                    // Pillow's 16-bit fixed-point weights sum to 65536, so gray stays gray exactly.
                    dst[d] = Channels <= 2 ? r : (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
                    break;
                case 3:
                    dst[d] = r; dst[d + 1] = g; dst[d + 2] = b;
                    break;
                default:
                    dst[d] = r; dst[d + 1] = g; dst[d + 2] = b; dst[d + 3] = a;
                    break;
            }
        }
        return result;
    }

    private static long CheckedSize(int width, int height, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (channels is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels are 1 to 4.");
        long size = (long)width * height * channels;
        if (size > Array.MaxLength) throw new ArgumentException($"A {width}x{height} image with {channels} channels is too large for one array.");
        return size;
    }
}
