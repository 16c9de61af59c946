namespace SdSharp.Imaging.Ops;

/// <summary>A1111's img2img resize modes (the API's <c>resize_mode</c>).</summary>
public enum ImageResizeMode
{
    /// <summary>Stretch to the size.</summary>
    JustResize = 0,
    /// <summary>Scale to cover the size, centre, cut off the overflow.</summary>
    CropAndResize = 1,
    /// <summary>Scale to fit inside the size, centre, fill the bands with the stretched edge rows or columns.</summary>
    ResizeAndFill = 2,
    /// <summary>
    /// "Just resize (latent upscale)": img2img leaves the init image alone and interpolates its latent instead.
    /// Given to <see cref="A1111Resize.ResizeImage"/> it behaves like <see cref="ResizeAndFill"/>, as A1111's
    /// resize_image does for every mode other than 0 and 1 (it resizes masks that way in this mode).
    /// </summary>
    LatentUpscale = 3,
}

/// <summary>A1111's <c>images.resize_image</c> (with no upscaler configured: Pillow LANCZOS) and <c>images.flatten</c>.</summary>
public static class A1111Resize
{
    /// <summary>
    /// resize_image: mode 0 keeps the image's channels; the other modes paint onto a new black RGB canvas, so
    /// they return RGB (a gray mask comes back as gray RGB, alpha is dropped).
    /// </summary>
    public static Image ResizeImage(ImageResizeMode mode, Image image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (mode == ImageResizeMode.JustResize) return Lanczos(image, width, height);

        double ratio = width / (double)height;
        double srcRatio = image.Width / (double)image.Height;
        var result = new Image(width, height, 3);
        if (mode == ImageResizeMode.CropAndResize)
        {
            int w = ratio > srcRatio ? width : Scaled(image.Width, height, image.Height);
            int h = ratio <= srcRatio ? height : Scaled(image.Height, width, image.Width);
            Compositing.Paste(result, Lanczos(image, w, h), width / 2 - w / 2, height / 2 - h / 2);
            return result;
        }

        int srcW = ratio < srcRatio ? width : Scaled(image.Width, height, image.Height);
        int srcH = ratio >= srcRatio ? height : Scaled(image.Height, width, image.Width);
        Image resized = Lanczos(image, srcW, srcH);
        Compositing.Paste(result, resized, width / 2 - srcW / 2, height / 2 - srcH / 2);
        // The empty bands get the first and last row (or column) stretched: a resize of a zero-height (or
        // zero-width) box with Pillow's default filter, which blends the two outermost rows.
        if (ratio < srcRatio)
        {
            int fill = height / 2 - srcH / 2;
            if (fill > 0)
            {
                Compositing.Paste(result, PillowResize.Resize(resized, width, fill, box: new ResizeBox(0, 0, width, 0)), 0, 0);
                Compositing.Paste(result, PillowResize.Resize(resized, width, fill, box: new ResizeBox(0, srcH, width, srcH)), 0, fill + srcH);
            }
        }
        else if (ratio > srcRatio)
        {
            int fill = width / 2 - srcW / 2;
            if (fill > 0)
            {
                Compositing.Paste(result, PillowResize.Resize(resized, fill, height, box: new ResizeBox(0, 0, 0, height)), 0, 0);
                Compositing.Paste(result, PillowResize.Resize(resized, fill, height, box: new ResizeBox(srcW, 0, srcW, height)), fill + srcW, 0);
            }
        }
        return result;
    }

    /// <summary>images.flatten: an RGBA image is laid over <paramref name="background"/> (A1111's default is
    /// white); the result is RGB.</summary>
    public static Image Flatten(Image image, byte r = 255, byte g = 255, byte b = 255)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != 4) return PillowConvert.To(image, 3);
        var canvas = new Image(image.Width, image.Height, 4);
        byte[] p = canvas.Pixels;
        for (int i = 0; i < p.Length; i += 4)
        {
            p[i] = r;
            p[i + 1] = g;
            p[i + 2] = b;
            p[i + 3] = 255;
        }
        Compositing.Paste(canvas, image, 0, 0, image);
        return canvas.ToRgb();
    }

    private static Image Lanczos(Image image, int width, int height) =>
        PillowResize.Resize(image, width, height, ResampleFilter.Lanczos);

    // a * b // c for the non-negative sizes involved.
    private static int Scaled(int a, int b, int c) => (int)((long)a * b / c);
}
