namespace SdSharp.Imaging.Ops;

/// <summary>
/// What A1111 pastes back after decoding an inpainting result: the original picture, transparent where the mask
/// is white, composited over the generated picture (which is first scaled back into place for "only masked").
/// </summary>
public static class InpaintOverlay
{
    /// <summary>The overlay image (RGBA): <paramref name="image"/> with alpha 255 − mask, made through
    /// premultiplied alpha as A1111 does, so colours under a translucent mask lose a little precision.</summary>
    public static Image Create(Image image, Image maskForOverlay)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(maskForOverlay);
        var masked = new Image(image.Width, image.Height, 4);
        Compositing.Paste(masked, PremultipliedAlpha.Premultiply(image.ToRgba()), 0, 0,
                          InpaintMask.Invert(PillowConvert.To(maskForOverlay, 1)));
        return PremultipliedAlpha.Unpremultiply(masked);
    }

    /// <summary>
    /// apply_overlay: with <paramref name="pasteTo"/> ("only masked") the decoded picture is crop-resized into
    /// that region of a transparent canvas of the overlay's size (uncrop); then the overlay goes on top. The
    /// result is RGB. Without an overlay the decoded picture is returned as it is.
    /// </summary>
    public static Image Apply(Image decoded, CropRegion? pasteTo, Image? overlay)
    {
        ArgumentNullException.ThrowIfNull(decoded);
        if (overlay == null) return PillowResize.Copy(decoded);
        Image image = pasteTo is { } region ? Uncrop(decoded, region, overlay.Width, overlay.Height) : decoded.ToRgba();
        return Compositing.AlphaComposite(image, overlay).ToRgb();
    }

    /// <summary>uncrop: <paramref name="image"/> crop-resized to the region and placed on a transparent canvas.</summary>
    public static Image Uncrop(Image image, CropRegion region, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        var canvas = new Image(width, height, 4);
        Image placed = A1111Resize.ResizeImage(ImageResizeMode.CropAndResize, image, region.Width, region.Height);
        Compositing.Paste(canvas, placed, region.X1, region.Y1);
        return canvas;
    }
}
