namespace SdSharp.Imaging.Ops;

/// <summary>Pillow's <c>crop</c> and <c>getbbox</c>.</summary>
public static class ImageRegion
{
    /// <summary>The pixels in [x0, x1) × [y0, y1); parts outside the image are zero, as in Pillow.</summary>
    public static Image Crop(Image image, int x0, int y0, int x1, int y1)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (x1 <= x0 || y1 <= y0) throw new ArgumentException($"The crop box ({x0}, {y0}, {x1}, {y1}) is empty.");
        var result = new Image(x1 - x0, y1 - y0, image.Channels);
        Compositing.Paste(result, image, -x0, -y0);
        return result;
    }

    /// <summary>The crop of <paramref name="region"/>.</summary>
    public static Image Crop(Image image, CropRegion region) => Crop(image, region.X1, region.Y1, region.X2, region.Y2);

    /// <summary>
    /// The smallest box holding every pixel with a non-zero byte (Pillow's getbbox), or null when there is none.
    /// Images with alpha are bounded by their alpha alone, as in Pillow.
    /// </summary>
    public static CropRegion? BoundingBox(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int x1 = image.Width, y1 = image.Height, x2 = 0, y2 = 0;
        int ch = image.Channels;
        int start = image.HasAlpha ? ch - 1 : 0, count = image.HasAlpha ? 1 : ch;
        for (int y = 0; y < image.Height; y++)
        {
            ReadOnlySpan<byte> row = image.Row(y);
            for (int x = 0; x < image.Width; x++)
            {
                if (row.Slice(x * ch + start, count).IndexOfAnyExcept((byte)0) < 0) continue;
                x1 = Math.Min(x1, x);
                x2 = Math.Max(x2, x + 1);
                y1 = Math.Min(y1, y);
                y2 = y + 1;
            }
        }
        return x2 == 0 ? null : new CropRegion(x1, y1, x2, y2);
    }
}
