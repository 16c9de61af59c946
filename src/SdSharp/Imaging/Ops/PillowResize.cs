namespace SdSharp.Imaging.Ops;

/// <summary>
/// <c>PIL.Image.resize</c> for 8-bit images, bit for bit: a horizontal then a vertical pass with Pillow's
/// fixed-point weights, each pass rounding and clipping to bytes; images with alpha are resampled premultiplied.
/// Pillow does no <c>reduce</c> step unless asked for a <c>reducing_gap</c>, and A1111 never asks, so neither
/// does this.
/// </summary>
public static class PillowResize
{
    /// <summary>Resizes to <paramref name="width"/> × <paramref name="height"/>, sampling <paramref name="box"/>
    /// (the whole image when null). Bicubic is Pillow's default filter.</summary>
    public static Image Resize(Image image, int width, int height, ResampleFilter filter = ResampleFilter.Bicubic,
                               ResizeBox? box = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ResizeBox b = box ?? ResizeBox.Of(image);
        if (b.X0 < 0 || b.Y0 < 0) throw new ArgumentException("The box offset can't be negative.", nameof(box));
        if (b.X1 > image.Width || b.Y1 > image.Height) throw new ArgumentException("The box can't exceed the image.", nameof(box));
        if (b.X1 - b.X0 < 0 || b.Y1 - b.Y0 < 0) throw new ArgumentException("The box can't be empty.", nameof(box));

        if (width == image.Width && height == image.Height && b == ResizeBox.Of(image))
            return Copy(image);
        // Colour is resampled premultiplied so transparent pixels do not bleed (Pillow converts RGBA to RGBa).
        if (image.HasAlpha && filter != ResampleFilter.Nearest)
            return PremultipliedAlpha.Unpremultiply(ResizeStraight(PremultipliedAlpha.Premultiply(image), width, height, filter, b));
        return ResizeStraight(image, width, height, filter, b);
    }

    private static Image ResizeStraight(Image image, int width, int height, ResampleFilter filter, ResizeBox b)
    {
        // An integral box of exactly the output size is a crop, whatever the filter.
        if (b.X0 - (int)b.X0 == 0 && b.X1 - b.X0 == width && b.Y0 - (int)b.Y0 == 0 && b.Y1 - b.Y0 == height)
            return ImageRegion.Crop(image, (int)b.X0, (int)b.Y0, (int)b.X1, (int)b.Y1);
        if (filter == ResampleFilter.Nearest)
            return Nearest(image, width, height, b);
        return Convolve(image, width, height, filter, b);
    }

    private static Image Convolve(Image image, int width, int height, ResampleFilter filter, ResizeBox b)
    {
        bool horizontal = width != image.Width || b.X0 != 0 || b.X1 != width;
        bool vertical = height != image.Height || b.Y0 != 0 || b.Y1 != height;
        var cx = ResampleCoefficients.Compute(image.Width, b.X0, b.X1, width, filter);
        var cy = ResampleCoefficients.Compute(image.Height, b.Y0, b.Y1, height, filter);

        Image current = image;
        int rowOffset = 0;
        if (horizontal)
        {
            // Only the rows the vertical pass will read.
            int firstRow = cy.First[0];
            int lastRow = cy.First[height - 1] + cy.Count[height - 1];
            current = HorizontalPass(image, cx, width, firstRow, lastRow);
            rowOffset = firstRow;
        }
        if (vertical)
            current = VerticalPass(current, cy, height, rowOffset);
        return ReferenceEquals(current, image) ? Copy(image) : current;
    }

    private static Image HorizontalPass(Image src, ResampleCoefficients c, int width, int firstRow, int lastRow)
    {
        int ch = src.Channels;
        var dst = new Image(width, lastRow - firstRow, ch);
        byte[] s = src.Pixels, d = dst.Pixels;
        for (int y = 0; y < dst.Height; y++)
        {
            int srcRow = (y + firstRow) * src.Stride, dstRow = y * dst.Stride;
            for (int xx = 0; xx < width; xx++)
            {
                int first = c.First[xx], count = c.Count[xx], k = xx * c.KernelSize;
                for (int band = 0; band < ch; band++)
                {
                    int sum = ResampleCoefficients.Half;
                    int p = srcRow + first * ch + band;
                    for (int x = 0; x < count; x++, p += ch)
                        sum += s[p] * c.Weights[k + x];
                    d[dstRow + xx * ch + band] = ResampleCoefficients.Clip8(sum);
                }
            }
        }
        return dst;
    }

    private static Image VerticalPass(Image src, ResampleCoefficients c, int height, int rowOffset)
    {
        int ch = src.Channels, stride = src.Stride;
        var dst = new Image(src.Width, height, ch);
        byte[] s = src.Pixels, d = dst.Pixels;
        for (int yy = 0; yy < height; yy++)
        {
            int first = c.First[yy] - rowOffset, count = c.Count[yy], k = yy * c.KernelSize;
            for (int i = 0; i < stride; i++)
            {
                int sum = ResampleCoefficients.Half;
                int p = first * stride + i;
                for (int y = 0; y < count; y++, p += stride)
                    sum += s[p] * c.Weights[k + y];
                d[yy * stride + i] = ResampleCoefficients.Clip8(sum);
            }
        }
        return dst;
    }

    // Pillow's nearest resize is an affine scale: source positions advance by repeated addition from the first
    // pixel centre, are truncated, and anything outside the image stays zero.
    private static Image Nearest(Image src, int width, int height, ResizeBox b)
    {
        double ax = (double)(b.X1 - b.X0) / width;
        double ay = (double)(b.Y1 - b.Y0) / height;
        var columns = new int[width];
        double xo = b.X0 + ax * 0.5;
        for (int x = 0; x < width; x++, xo += ax)
            columns[x] = Coordinate(xo, src.Width);

        int ch = src.Channels;
        var dst = new Image(width, height, ch);
        double yo = b.Y0 + ay * 0.5;
        for (int y = 0; y < height; y++, yo += ay)
        {
            int sy = Coordinate(yo, src.Height);
            if (sy < 0) continue;
            ReadOnlySpan<byte> srcRow = src.Row(sy);
            Span<byte> dstRow = dst.Row(y);
            for (int x = 0; x < width; x++)
                if (columns[x] >= 0)
                    srcRow.Slice(columns[x] * ch, ch).CopyTo(dstRow.Slice(x * ch, ch));
        }
        return dst;
    }

    private static int Coordinate(double v, int size)
    {
        int i = v < 0.0 ? -1 : (int)v;
        return i < size ? i : -1;
    }

    internal static Image Copy(Image image) => new(image.Width, image.Height, image.Channels, (byte[])image.Pixels.Clone());
}
