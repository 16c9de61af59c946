namespace SdSharp.Imaging.Ops;

/// <summary>A1111's "inpaint only masked" region (masking.get_crop_region_v2, get_crop_region, expand_crop_region).</summary>
public static class InpaintCrop
{
    /// <summary>get_crop_region_v2: the mask's bounding box grown by <paramref name="pad"/> and clipped to the
    /// mask; null for an all-black mask.</summary>
    public static CropRegion? GetCropRegion(Image mask, int pad = 0)
    {
        CropRegion? box = ImageRegion.BoundingBox(mask);
        if (box is not { } b || pad == 0) return box;
        return new CropRegion(Math.Max(b.X1 - pad, 0), Math.Max(b.Y1 - pad, 0),
                              Math.Min(b.X2 + pad, mask.Width), Math.Min(b.Y2 + pad, mask.Height));
    }

    /// <summary>get_crop_region (the older API): like v2, but an all-black mask gives an inverted box,
    /// (w − pad, h − pad, pad, pad) clipped to the mask.</summary>
    public static CropRegion GetCropRegionLegacy(Image mask, int pad = 0) =>
        GetCropRegion(mask, pad) ?? new CropRegion(Math.Max(mask.Width - pad, 0), Math.Max(mask.Height - pad, 0),
                                                   Math.Min(pad, mask.Width), Math.Min(pad, mask.Height));

    /// <summary>
    /// expand_crop_region: grow the shorter side of <paramref name="region"/> to the processing aspect ratio,
    /// centred, shifted back inside the image; it stays short when the image is too small.
    /// </summary>
    public static CropRegion ExpandCropRegion(CropRegion region, int processingWidth, int processingHeight,
                                              int imageWidth, int imageHeight)
    {
        (int x1, int y1, int x2, int y2) = region;
        double ratioProcessing = processingWidth / (double)processingHeight;
        if ((x2 - x1) / (double)(y2 - y1) > ratioProcessing)
        {
            int diff = (int)((x2 - x1) / ratioProcessing - (y2 - y1));
            (y1, y2) = Spread(y1, y2, diff, imageHeight);
        }
        else
        {
            int diff = (int)((y2 - y1) * ratioProcessing - (x2 - x1));
            (x1, x2) = Spread(x1, x2, diff, imageWidth);
        }
        return new CropRegion(x1, y1, x2, y2);
    }

    private static (int Low, int High) Spread(int low, int high, int diff, int size)
    {
        low -= diff / 2;
        high += diff - diff / 2;
        if (high >= size)
        {
            low -= high - size;
            high = size;
        }
        if (low < 0)
        {
            high -= low;
            low = 0;
        }
        return (low, Math.Min(high, size));
    }
}
